// Finding an ECR repository.
import { DescribeRepositoriesCommand, type ECRClient, type Repository } from '@aws-sdk/client-ecr';
import { sdkErrorName, wrapAwsError } from '../aws.ts';

/** The repository of that name, or undefined when it does not exist yet. */
export async function findRepository(ecr: ECRClient, name: string): Promise<Repository | undefined> {
  try {
    const response = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return response.repositories?.[0];
  } catch (error) {
    if (sdkErrorName(error) === 'RepositoryNotFoundException') return undefined;
    throw wrapAwsError('DescribeRepositories', `repository ${name}`, error);
  }
}
