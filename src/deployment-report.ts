// How deployments read in the log and the job summary: outcome per service, and for failures the
// evidence (stopped tasks, exit codes, last log lines, events) and the diagnosis.
import { adviceFor, failureLabels } from './ecs/diagnosis.ts';
import type { ImageChange } from './ecs/revision.ts';
import type { DeploymentResult } from './ecs/rollout.ts';
import { revisionName } from './ecs/task-definition.ts';
import { cell, fenced, type Summary, table } from './report.ts';

/** The lines that explain one failed deployment, for the log. */
export function diagnosisLines(result: DeploymentResult): string[] {
  const lines = [`${result.serviceName}: deployment ${outcomeWords[result.status]}${result.statusReason ? ` (${result.statusReason})` : ''}`];
  if (result.diagnosis) lines.push(`Classification: ${failureLabels[result.diagnosis.reason]}`);
  if (result.triggeredAlarms.length > 0) lines.push(`Alarms in ALARM: ${result.triggeredAlarms.join(', ')}`);
  for (const stopped of result.diagnosis?.stoppedTasks ?? []) {
    lines.push(`Stopped task ${stopped.taskId}: ${stopped.stoppedReason ?? 'no reason given'}${stopped.stopCode ? ` [${stopped.stopCode}]` : ''}`);
    for (const container of stopped.containers) {
      const exit = container.exitCode === undefined ? 'did not run to an exit code' : `exit code ${container.exitCode}`;
      lines.push(`  container ${container.name}: ${exit}${container.reason ? `, ${container.reason}` : ''}`);
      if (container.logLines.length > 0) {
        lines.push(`  last ${container.logLines.length} log lines of ${container.name}:`);
        for (const line of container.logLines) lines.push(`    | ${line}`);
      }
    }
  }
  const events = result.events.slice(-8);
  if (events.length > 0) {
    lines.push('Service events:');
    for (const event of events) lines.push(`  ${event}`);
  }
  if (result.rolledBackTo) lines.push(`ECS rolled back to ${revisionName(result.rolledBackTo)} (${result.rolledBackTo})`);
  if (result.status === 'timed-out') {
    lines.push(`Still pending: ${result.desired - result.running} of ${result.desired} tasks. The deployment goes on in ECS; nothing was rolled back.`);
  }
  if (result.diagnosis) lines.push(`What to do: ${adviceFor(result.diagnosis.reason)}`);
  return lines;
}

const outcomeWords: Record<DeploymentResult['status'], string> = {
  successful: 'succeeded',
  'rolled-back': 'was rolled back',
  failed: 'failed',
  'timed-out': 'timed out',
  skipped: 'was skipped',
};

/** The one-line reason a step failed. */
export function failureMessage(failed: DeploymentResult[]): string {
  return failed
    .map((result) => {
      const label = result.diagnosis ? failureLabels[result.diagnosis.reason] : (result.statusReason ?? result.status);
      const reason = result.diagnosis?.reason === 'alarm' ? `${label} ${result.triggeredAlarms.join(', ')} in ALARM` : label;
      const stopped = result.diagnosis?.stoppedTasks[0]?.containers.find((container) => container.exitCode !== undefined && container.exitCode !== 0);
      const exit = stopped ? ` (container ${stopped.name} exit code ${stopped.exitCode})` : '';
      const back = result.rolledBackTo ? `; ECS rolled back to ${revisionName(result.rolledBackTo)}` : '';
      return `Deployment of ${result.serviceName} ${outcomeWords[result.status]}: ${reason}${exit}${back}.`;
    })
    .join('\n');
}

/** How many tasks run which revision: after a failure, what serves now, not the failed revision's zero. */
function runningNow(result: DeploymentResult): string {
  const revisions = result.serving?.revisions ?? [{ taskDefinitionArn: result.taskDefinitionArn, running: result.running }];
  const desired = result.serving?.desired ?? result.desired;
  return `${revisions.map((revision) => `${revisionName(revision.taskDefinitionArn)}: ${revision.running}`).join(', ')} (desired ${desired})`;
}

/**
 * The outcome per service, then for each failure the evidence under `why` (the log's phase of the same
 * title), so a hint can point to it by that name.
 */
export function addDeploymentSummary(summary: Summary, results: DeploymentResult[], why = whyDeploymentFailed): void {
  summary.addTable(
    ['service', 'outcome', 'revision', 'ECS rolled back to', 'running now', 'failed tasks'],
    results.map((result) => [
      result.serviceName,
      result.status,
      revisionName(result.taskDefinitionArn),
      result.rolledBackTo ? revisionName(result.rolledBackTo) : undefined,
      runningNow(result),
      result.failedTasks,
    ]),
  );
  for (const result of results.filter((r) => r.stages.length > 0)) {
    const path = result.stages.map((seen) => (seen.share === undefined ? seen.stage : `${seen.stage} (${seen.share}%)`)).join(' → ');
    summary.add(`${cell(result.serviceName)} lifecycle, with the new revision's share of production traffic: ${path}`);
  }
  const failed = results.filter((r) => r.diagnosis);
  if (failed.length > 0) summary.add(`#### ${why}`);
  for (const result of failed) {
    const reason = result.diagnosis ? failureLabels[result.diagnosis.reason] : '';
    const tasks = (result.diagnosis?.stoppedTasks ?? []).flatMap((stopped) =>
      stopped.containers.map((container) => [stopped.taskId, container.name, container.exitCode ?? '—', stopped.stoppedReason ?? '', container.reason ?? '']),
    );
    summary.add(`**${cell(result.serviceName)}: ${reason}**. ${result.diagnosis ? cell(adviceFor(result.diagnosis.reason)) : ''}`);
    if (tasks.length > 0) summary.add(table(['task', 'container', 'exit code', 'stopped reason', 'container reason'], tasks));
    const logs = (result.diagnosis?.stoppedTasks ?? []).flatMap((stopped) =>
      stopped.containers.filter((c) => c.logLines.length > 0).map((c) => ({ stopped, c })),
    );
    const first = logs[0];
    if (first) summary.add(`Last log lines of ${cell(first.c.name)} in task ${first.stopped.taskId}:\n\n${fenced(first.c.logLines.join('\n'))}`);
    const events = result.events.slice(-8);
    if (events.length > 0) summary.add(`Service events of ${cell(result.serviceName)}:\n\n${fenced(events.join('\n'))}`);
  }
}

export const whyDeploymentFailed = 'Why the deployment failed';
export const whyRollbackFailed = 'Why the rollback failed';

/** Each service's containers with the image they ran before and the one they run now. */
export function addImageSummary(summary: Summary, images: ImageChange[]): void {
  if (images.length === 0) return;
  summary.addTable(
    ['service', 'container', 'image before', 'image now'],
    images.map((change) => [change.service, change.container, change.from ?? '(new)', change.to ?? '(removed)']),
  );
}

/** The image a person knows the environment by: the only container's, else each container's as name=image. */
export function imagesText(containers: { name: string; image: string | undefined }[]): string | undefined {
  const known = containers.filter((container) => container.image !== undefined);
  if (known.length <= 1) return known[0]?.image;
  return known.map((container) => `${container.name}=${container.image}`).join(', ');
}
