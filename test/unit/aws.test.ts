// Exact request shapes and error handling of the shared AWS layer (nock at the real AWS hostname).

import { ECSClient } from '@aws-sdk/client-ecs';
import { describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { awsSettings, createClient } from '../../src/aws.ts';
import { findCluster, requireCluster } from '../../src/ecs/cluster.ts';
import { ActionError } from '../../src/errors.ts';
import { useNock } from '../helpers/nock.ts';

const ecsHost = 'https://ecs.us-east-1.amazonaws.com';
const json = { 'content-type': 'application/x-amz-json-1.1' };

useNock({ awsCredentials: true });

const ecs = () => createClient(ECSClient, awsSettings('rollout-with-circuit-breaker', { AWS_REGION: 'us-east-1' }));

describe('awsSettings', () => {
  test('region from AWS_REGION, else AWS_DEFAULT_REGION', () => {
    expect(awsSettings('x', { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-1' }).region).toBe('eu-west-1');
    expect(awsSettings('x', { AWS_DEFAULT_REGION: 'us-east-2' }).region).toBe('us-east-2');
  });
  test('no region is an error that says how to set one', () => {
    expect(() => awsSettings('x', {})).toThrow(ActionError);
    expect(() => awsSettings('x', {})).toThrow(/AWS_REGION/);
  });
});

describe('findCluster', () => {
  test('sends DescribeClusters with tags, names the action in the user agent, returns the ACTIVE cluster', async () => {
    nock(ecsHost)
      .matchHeader('x-amz-target', 'AmazonEC2ContainerServiceV20141113.DescribeClusters')
      .matchHeader('user-agent', /ecs-deploy-actions\/0\.1\.0 action\/rollout-with-circuit-breaker#0\.1\.0/)
      .post('/', { clusters: ['previews'], include: ['TAGS'] })
      .reply(
        200,
        { clusters: [{ clusterName: 'previews', clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/previews', status: 'ACTIVE' }], failures: [] },
        json,
      );
    expect((await findCluster(ecs(), 'previews'))?.clusterArn).toBe('arn:aws:ecs:us-east-1:123456789012:cluster/previews');
  });

  test('an INACTIVE or missing cluster is not found, with a message naming cluster and region', async () => {
    nock(ecsHost)
      .post('/')
      .reply(200, { clusters: [{ clusterName: 'previews', status: 'INACTIVE' }], failures: [] }, json)
      .post('/')
      .reply(200, { clusters: [], failures: [{ arn: 'arn:aws:ecs:us-east-1:123456789012:cluster/gone', reason: 'MISSING' }] }, json);
    expect(await findCluster(ecs(), 'previews')).toBeUndefined();
    await expect(requireCluster(ecs(), 'gone', 'us-east-1')).rejects.toThrow('ECS cluster "gone" was not found in us-east-1.');
  });

  test('throttling is retried by the SDK (adaptive mode) and the call succeeds', async () => {
    nock(ecsHost)
      .post('/')
      .reply(400, { __type: 'ThrottlingException', message: 'Rate exceeded' }, json)
      .post('/')
      .reply(200, { clusters: [{ clusterName: 'previews', status: 'ACTIVE' }], failures: [] }, json);
    expect((await findCluster(ecs(), 'previews'))?.clusterName).toBe('previews');
  });

  test('access denied becomes an error naming the operation and resource, with the fix', async () => {
    nock(ecsHost).post('/').reply(400, { __type: 'AccessDeniedException', message: 'User is not authorized to perform: ecs:DescribeClusters' }, json);
    const error = await findCluster(ecs(), 'previews').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect((error as ActionError).message).toBe(
      'DescribeClusters for cluster previews failed: AccessDeniedException: User is not authorized to perform: ecs:DescribeClusters',
    );
    expect((error as ActionError).hint).toMatch(/action-catalog\.md/);
  });
});
