// build-push-ecr: ensure the repository, build and push the image (or skip or promote), report the digest.
import { ECRClient } from '@aws-sdk/client-ecr';
import { readBuildPushEcrConfig } from '../../src/actions/build-push-ecr.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { findRepository } from '../../src/ecr/repository.ts';
import { notYetImplemented, runAction } from '../../src/run.ts';

await runAction('build-push-ecr', async ({ progress }) => {
  const config = readBuildPushEcrConfig();
  const settings = awsSettings('build-push-ecr');
  progress.line(`Looking up ECR repository ${config.repository} in ${settings.region}`);
  const repository = await findRepository(createClient(ECRClient, settings), config.repository);
  progress.line(repository ? `Found ${repository.repositoryUri}` : `Repository ${config.repository} does not exist yet`);
  throw notYetImplemented('build-push-ecr', 'the inputs are valid and the repository was looked up');
});
