// RegisterTaskDefinition answers with the requiresAttributes AWS derives from the definition's settings.
import { RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { type Harness, harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.stop();
});

test('awslogs with an execution role, awsvpc and a health check each require their capabilities', async () => {
  const fargate = await h.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'attributes',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      containerDefinitions: [
        {
          name: 'app',
          image: 'web:v1',
          healthCheck: { command: ['CMD-SHELL', 'true'] },
          logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/ecs/a', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'ecs' } },
        },
      ],
    }),
  );
  expect(fargate.taskDefinition?.requiresAttributes?.map((attribute) => attribute.name).sort()).toEqual(
    [
      'com.amazonaws.ecs.capability.docker-remote-api.1.18',
      'com.amazonaws.ecs.capability.docker-remote-api.1.19',
      'com.amazonaws.ecs.capability.docker-remote-api.1.24',
      'com.amazonaws.ecs.capability.logging-driver.awslogs',
      'ecs.capability.container-health-check',
      'ecs.capability.execution-role-awslogs',
      'ecs.capability.task-eni',
    ].sort(),
  );
});
