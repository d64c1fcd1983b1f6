// A complete, valid set of inputs per action, shared by the e2e tests and the benchmarks.
export const exampleListenerArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2';

export const validInputs: Record<string, { inputs: Record<string, string>; required: string[] }> = {
  'build-push-ecr': { inputs: { repository: 'team/web', context: 'workflows-examples/app' }, required: ['repository'] },
  'provision-platform': {
    inputs: {
      environment: 'pr-7',
      cluster: 'previews',
      'host-pattern': '{env}.preview.example.com',
      subnets: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
      'security-groups': 'sg-0123456789abcdef0',
      image: 'nginx:1.27',
      'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      'listener-arn': exampleListenerArn,
    },
    required: ['environment', 'cluster', 'host-pattern', 'subnets', 'security-groups'],
  },
  'rollout-with-circuit-breaker': { inputs: { cluster: 'previews', service: 'web', image: 'nginx:1.27' }, required: ['cluster'] },
  'rollback-to-revision': { inputs: { cluster: 'previews', service: 'web' }, required: ['cluster'] },
  'scale-schedule': { inputs: { mode: 'sleep', cluster: 'previews', environments: 'pr-*' }, required: ['mode', 'cluster', 'environments'] },
  'teardown-env': { inputs: { cluster: 'previews', environment: 'pr-7' }, required: ['cluster'] },
};
