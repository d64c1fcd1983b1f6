import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { describe, expect, test } from '@jest/globals';
import { hardeningFindings } from '../../src/ecs/hardening.ts';
import { mergeTags, provenanceTags, readTaskDefinitionFile, revisionName, targetContainer, toRegistration, withImages } from '../../src/ecs/task-definition.ts';
import { InputError } from '../../src/errors.ts';

const described: TaskDefinition = {
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/previews-pr-7:4',
  family: 'previews-pr-7',
  revision: 4,
  status: 'ACTIVE',
  requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }],
  compatibilities: ['EC2', 'FARGATE'],
  registeredAt: new Date(),
  registeredBy: 'arn:aws:sts::123456789012:assumed-role/deployer/gha',
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  cpu: '256',
  memory: '512',
  containerDefinitions: [
    { name: 'log-router', image: 'fluent-bit:3', essential: false },
    { name: 'app', image: 'web:sha-1', essential: true },
  ],
};

describe('registration', () => {
  test('keeps only fields RegisterTaskDefinition accepts, and the given tags', () => {
    const registration = toRegistration(described, [{ key: 'k', value: 'v' }], 'revision 4');
    expect(Object.keys(registration).sort()).toEqual(
      ['containerDefinitions', 'cpu', 'family', 'memory', 'networkMode', 'requiresCompatibilities', 'tags'].sort(),
    );
  });
  test('a file without family or containers is refused with what is missing', () => {
    expect(() => toRegistration({ containerDefinitions: [{}] }, [], 'td.json')).toThrow('td.json has no family.');
    expect(() => toRegistration({ family: 'x', containerDefinitions: [] }, [], 'td.json')).toThrow('td.json has no containerDefinitions.');
  });
  test('the image goes to the only essential container by default, or the named one', () => {
    const registration = toRegistration(described, [], 'revision 4');
    const images = (pairs: { container: string | undefined; image: string }[]) => withImages(registration, pairs).containerDefinitions.map((c) => c.image);
    expect(images([{ container: undefined, image: 'web:sha-2' }])).toEqual(['fluent-bit:3', 'web:sha-2']);
    expect(images([{ container: 'log-router', image: 'fluent-bit:4' }])).toEqual(['fluent-bit:4', 'web:sha-1']);
    expect(() => targetContainer(registration.containerDefinitions, 'api')).toThrow(InputError);
    expect(() => targetContainer(registration.containerDefinitions, 'api')).toThrow(/it has: log-router, app/);
  });
  test('several containers get their images in one registration; names it lacks are refused together, by the input given', () => {
    const registration = toRegistration(described, [], 'revision 4');
    const both = [
      { container: 'app', image: 'web:sha-2' },
      { container: 'log-router', image: 'fluent-bit:4' },
    ];
    expect(withImages(registration, both).containerDefinitions.map((c) => c.image)).toEqual(['fluent-bit:4', 'web:sha-2']);
    const wrong = [...both, { container: 'envoy', image: 'envoy:1' }, { container: 'api', image: 'api:1' }];
    expect(() => withImages(registration, wrong, 'images')).toThrow(
      'Input "images": the task definition previews-pr-7 has no container named "envoy" or "api" (it has: log-router, app).',
    );
  });
  test('files: rendered output, describe-task-definition output, and bad files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'td-'));
    writeFileSync(join(dir, 'plain.json'), JSON.stringify({ family: 'f', containerDefinitions: [{ name: 'a' }] }));
    writeFileSync(
      join(dir, 'wrapped.json'),
      JSON.stringify({ taskDefinition: { family: 'g', containerDefinitions: [{ name: 'a' }] }, tags: [{ key: 'team', value: 'web' }] }),
    );
    writeFileSync(join(dir, 'broken.json'), '{ "family": ');
    expect(readTaskDefinitionFile(join(dir, 'plain.json'))).toEqual({ definition: { family: 'f', containerDefinitions: [{ name: 'a' }] }, tags: [] });
    expect(readTaskDefinitionFile(join(dir, 'wrapped.json')).definition.family).toBe('g');
    expect(readTaskDefinitionFile(join(dir, 'wrapped.json')).tags).toEqual([{ key: 'team', value: 'web' }]);
    expect(() => readTaskDefinitionFile(join(dir, 'broken.json'))).toThrow(/Input "task-definition": .* is not valid JSON/);
    expect(() => readTaskDefinitionFile(join(dir, 'missing.json'))).toThrow(/cannot be read/);
  });
  test('provenance tags name the commit and the run; later tags win', () => {
    const tags = provenanceTags({ GITHUB_SHA: 'abc', GITHUB_REPOSITORY: 'acme/web', GITHUB_RUN_ID: '7', GITHUB_SERVER_URL: 'https://github.com' });
    expect(tags).toEqual([
      { key: 'ecs-deploy-actions:commit', value: 'abc' },
      { key: 'ecs-deploy-actions:run', value: 'https://github.com/acme/web/actions/runs/7' },
    ]);
    expect(
      mergeTags(
        [{ key: 'a', value: '1' }],
        [
          { key: 'a', value: '2' },
          { key: 'b', value: '3' },
        ],
      ),
    ).toEqual([
      { key: 'a', value: '2' },
      { key: 'b', value: '3' },
    ]);
    expect(revisionName(described.taskDefinitionArn)).toBe('previews-pr-7:4');
  });
});

describe('hardening', () => {
  test('a hardened container has no findings', () => {
    expect(
      hardeningFindings([
        {
          name: 'app',
          image: 'web@sha256:0123',
          user: '1000:1000',
          readonlyRootFilesystem: true,
          linuxParameters: { capabilities: { drop: ['ALL'] } },
          healthCheck: { command: ['CMD', 'true'] },
          logConfiguration: { logDriver: 'awslogs' },
          environment: [{ name: 'PORT', value: '8080' }],
        },
      ]),
    ).toEqual([]);
  });
  test('each risky setting is named with its container and field, and secret values never appear', () => {
    const findings = hardeningFindings([
      {
        name: 'app',
        image: 'web',
        privileged: true,
        environment: [
          { name: 'STRIPE_API_KEY', value: 'sk_live_123' },
          { name: 'DB_PASSWORD', value: 'pw' },
        ],
      },
    ]);
    expect(findings.map((f) => `${f.container}:${f.field}`)).toEqual([
      'app:privileged',
      'app:user',
      'app:readonlyRootFilesystem',
      'app:linuxParameters.capabilities.drop',
      'app:environment.STRIPE_API_KEY',
      'app:environment.DB_PASSWORD',
      'app:image',
      'app:healthCheck',
      'app:logConfiguration',
    ]);
    expect(JSON.stringify(findings)).not.toMatch(/sk_live_123|"pw"/);
  });
  test('latest and untagged images are moving tags; registry ports are not tags', () => {
    const imageFinding = (image: string) => hardeningFindings([{ name: 'a', image }]).some((f) => f.field === 'image');
    expect(imageFinding('nginx:latest')).toBe(true);
    expect(imageFinding('127.0.0.1:5000/web')).toBe(true);
    expect(imageFinding('127.0.0.1:5000/web:sha-1')).toBe(false);
  });
});

test.each([
  ['STRIPE_API_KEY', true],
  ['AWS_SECRET_ACCESS_KEY', true],
  ['CLIENT_SECRET', true],
  ['GITHUB_TOKEN', true],
  ['DB_PASSWORD', true],
  ['AWS_ACCESS_KEY_ID', false],
  ['MONKEY', false],
  ['PORT', false],
])('environment variable %s looks like a secret: %s', (name, flagged) => {
  const findings = hardeningFindings([{ name: 'a', environment: [{ name, value: 'x' }] }]);
  expect(findings.some((f) => f.field === `environment.${name}`)).toBe(flagged);
});
