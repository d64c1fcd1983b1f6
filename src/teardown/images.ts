// The environment's image tag (pr-123) in an ECR repository; separate so only teardown bundles the ECR client.
import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { sdkErrorName, wrapAwsError } from '../aws.ts';
import type { Found } from './discover.ts';

export async function discoverImages(ecr: ECRClient, repository: string, environment: string): Promise<Found[]> {
  try {
    await ecr.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: environment }] }));
    return [{ kind: 'image tag', id: environment, name: `${repository}:${environment}` }];
  } catch (error) {
    if (['ImageNotFoundException', 'RepositoryNotFoundException'].includes(sdkErrorName(error) ?? '')) return [];
    throw wrapAwsError('DescribeImages', `${repository}:${environment}`, error);
  }
}
