// STS speaks the Query protocol in this SDK version; the real client must parse our XML.
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';

let emu: RunningEmulator;
beforeAll(async () => {
  emu = await startEmulator({ registry: false });
});
afterAll(async () => {
  await emu.stop();
});

it('GetCallerIdentity names the assumed role of the emulated account', async () => {
  const sts = new STSClient({ endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  const id = await sts.send(new GetCallerIdentityCommand({}));
  sts.destroy();
  expect(id).toMatchObject({
    Account: '123456789012',
    Arn: 'arn:aws:sts::123456789012:assumed-role/github-actions-deploy/GitHubActions',
    UserId: expect.stringMatching(/^AROA[A-Z0-9]+:GitHubActions$/),
  });
  const calls = (await (await fetch(`${emu.endpoint}/_emulator/calls`)).json()) as { calls: { service: string; operation: string }[] };
  expect(calls.calls).toContainEqual(expect.objectContaining({ service: 'sts', operation: 'GetCallerIdentity' }));
});
