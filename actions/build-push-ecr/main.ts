// build-push-ecr: inputs -> observe (repository, the image for this source, cache repository) -> plan
// (promote, skip, build and push, or build only) -> apply -> report. A dry run stops at the plan.
import { ECRClient } from '@aws-sdk/client-ecr';
import { readBuildPushEcrConfig } from '../../src/actions/build-push-ecr.ts';
import { awsSettings, createClient } from '../../src/aws.ts';
import { applyBuildPush } from '../../src/image/apply.ts';
import { observe } from '../../src/image/observe.ts';
import { planBuildPush } from '../../src/image/plan.ts';
import { planRows, reportBuildPush } from '../../src/image/report.ts';
import { runAction } from '../../src/run.ts';

await runAction('build-push-ecr', async ({ progress, summary }) => {
  const spec = readBuildPushEcrConfig();
  let ecr: ECRClient | undefined;
  const client = () => {
    ecr ??= createClient(ECRClient, awsSettings('build-push-ecr'));
    return ecr;
  };

  progress.phase(`Looking at ${spec.config.repository}`);
  const observed = await observe(spec, client);
  const plan = planBuildPush(spec, observed);
  for (const [what, value] of planRows(plan)) progress.line(`${what}: ${value}`);
  if (spec.config.dryRun) {
    summary.addTable(['Dry run: nothing changed', ''], planRows(plan));
    return;
  }

  const outcome = await applyBuildPush(plan, progress, client);
  await reportBuildPush(ecr, spec, outcome, summary);
});
