// Runs an action's body the same way for every action: errors become a failed step with a fix,
// and the job summary is written whether the run succeeds or fails.
import { ActionError } from './errors.ts';
import { Progress, Summary } from './report.ts';
import { error, info } from './runner.ts';
import { type Clock, scaledClock } from './watch.ts';

export interface ActionRun {
  progress: Progress;
  summary: Summary;
  /** Scaled time (see ECS_DEPLOY_ACTIONS_TIME_SCALE): waits and reported durations use it. */
  clock: Clock;
}

export async function runAction(title: string, body: (run: ActionRun) => Promise<void>): Promise<void> {
  const clock = scaledClock();
  const progress = new Progress(clock.now);
  const summary = new Summary(title);
  try {
    await body({ progress, summary, clock });
    progress.end();
    await summary.write({ ok: true, elapsedSeconds: progress.elapsedSeconds() });
  } catch (caught) {
    progress.end();
    const known = caught instanceof ActionError;
    const message = known ? caught.message : `Unexpected error: ${caught instanceof Error ? (caught.stack ?? caught.message) : String(caught)}`;
    const hint = known ? caught.hint : 'this is a bug in ecs-deploy-actions; please report it with this log.';
    error(message, title);
    if (hint) info(`How to fix: ${hint}`);
    await summary.write({ ok: false, message, hint, elapsedSeconds: progress.elapsedSeconds() });
    process.exitCode = 1;
  }
}
