// A service's deployment history, as the revisions it actually ran, newest first.
import {
  DescribeServiceRevisionsCommand,
  type ECSClient,
  ListServiceDeploymentsCommand,
  ListTaskDefinitionsCommand,
  type ServiceDeploymentBrief,
} from '@aws-sdk/client-ecs';
import { awsCall, sdkErrorName, wrapAwsError } from '../aws.ts';
import { chunk } from '../list.ts';
import { familyOf } from './task-definition.ts';

/** Task definitions of the service's SUCCESSFUL deployments, newest first; undefined when the API is unavailable. */
export async function successfulRevisions(ecs: ECSClient, cluster: string, service: string): Promise<string[] | undefined> {
  const deployments: ServiceDeploymentBrief[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await ecs.send(new ListServiceDeploymentsCommand({ cluster, service, status: ['SUCCESSFUL'], nextToken, maxResults: 100 }));
      deployments.push(...(page.serviceDeployments ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
  } catch (error) {
    if (['UnknownOperationException', 'AccessDeniedException', 'UnsupportedFeatureException'].includes(sdkErrorName(error) ?? '')) return undefined;
    throw wrapAwsError('ListServiceDeployments', `service ${service}`, error);
  }
  deployments.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
  const revisionArns = [...new Set(deployments.map((deployment) => deployment.targetServiceRevisionArn ?? ''))].filter(Boolean);
  const taskDefinitionOf = new Map<string, string>();
  for (const batch of chunk(revisionArns, 20)) {
    const response = await awsCall('DescribeServiceRevisions', `service ${service}`, () =>
      ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: batch })),
    );
    for (const revision of response.serviceRevisions ?? []) taskDefinitionOf.set(revision.serviceRevisionArn ?? '', revision.taskDefinition ?? '');
  }
  return deployments.map((deployment) => taskDefinitionOf.get(deployment.targetServiceRevisionArn ?? '') ?? '').filter(Boolean);
}

/** ACTIVE revisions of a family, newest first. */
export async function familyRevisions(ecs: ECSClient, family: string): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await awsCall('ListTaskDefinitions', `family ${family}`, () =>
      ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', nextToken })),
    );
    arns.push(...(page.taskDefinitionArns ?? []).filter((arn) => familyOf(arn) === family));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/**
 * The revision the service ran before `current`: in its successful deployments, the newest one older
 * than the current revision's and different from it.
 */
export function previousIn(history: string[], current: string): string | undefined {
  const at = history.indexOf(current);
  return history.slice(at + 1).find((arn) => arn !== current);
}
