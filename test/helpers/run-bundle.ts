// Runs a committed dist bundle as a runner would (scripts/run-action.ts), in a made-up repository and
// run with placeholder AWS keys: the tests point it at the emulator through env.
import { type ActionRunOptions, type BundleRun, runAction } from '../../scripts/run-action.ts';

export { type BundleRun, node24, parseFileCommands, root } from '../../scripts/run-action.ts';

export type BundleOptions = ActionRunOptions;

export async function runBundle(action: string, options: BundleOptions = {}): Promise<BundleRun> {
  return runAction(action, {
    ...options,
    env: {
      GITHUB_REPOSITORY: 'acme/web',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_RUN_ID: '4242',
      GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'test-secret-key',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...options.env,
    },
  });
}
