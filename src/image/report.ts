// build-push-ecr's outputs and summary, and the plan as a dry run shows it.
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { BuildPushSpec } from '../actions/build-push-ecr.ts';
import type { TagPlan } from '../ecr/images.ts';
import { describeImage } from '../ecr/images.ts';
import { formatBytes, type Summary } from '../report.ts';
import { setOutput } from '../runner.ts';
import type { Outcome } from './apply.ts';
import type { BuildPushPlan, RepositoryStep } from './plan.ts';

/** The plan, one row per decision, for a dry run's log and summary. */
export function planRows(plan: BuildPushPlan): [string, string][] {
  const tags = (t: TagPlan) =>
    [
      t.add.length > 0 ? `add ${t.add.join(', ')}` : '',
      t.moved.length > 0 ? `(moved from another image: ${t.moved.join(', ')})` : '',
      t.present.length > 0 ? `keep ${t.present.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  const repository = (step: RepositoryStep) =>
    step.existing ? `${step.name} (exists)` : `${step.name}: create (tags ${step.tagMutability}, ${step.tags.map((t) => `${t.Key}=${t.Value}`).join(', ')})`;
  switch (plan.kind) {
    case 'promote':
      return [
        ['Plan', `promote ${plan.sourceTag} (${plan.image.digest})`],
        ['Tags', tags(plan.tags)],
      ];
    case 'skip':
      return [
        ['Plan', `skip the build: ${plan.contentKey} exists (${plan.image.digest})`],
        ['Repository', repository(plan.repository)],
        ['Tags', tags(plan.tags)],
      ];
    case 'build':
      return [
        ['Plan', `build with ${plan.builder} for ${plan.source.settings.platforms.join(', ')}, push ${plan.repository.name}:${plan.source.contentKey.tag}`],
        ['Repository', repository(plan.repository)],
        ['Layer cache', plan.cache ? repository(plan.cache) : 'off (cache: false)'],
        ['Tags', plan.tags.join(', ')],
      ];
    case 'reuse':
      return [
        [
          'Plan',
          `no build: ${plan.cache.name}:${plan.contextTag} has the layers of these inputs; push them with this run's labels to ${plan.repository.name}:${plan.source.contentKey.tag}`,
        ],
        ['Repository', repository(plan.repository)],
        ['Tags', plan.tags.join(', ')],
      ];
    case 'build-only':
      return [['Plan', `build with ${plan.builder} for ${plan.source.settings.platforms.join(', ')}, push nothing (push: false)`]];
  }
}

export async function reportBuildPush(ecr: ECRClient | undefined, spec: BuildPushSpec, outcome: Outcome, summary: Summary): Promise<void> {
  const contentKey = spec.kind === 'build' ? spec.build.contentKey : undefined;
  const facts: [string, string][] = [
    ...outcome.facts,
    ...(contentKey ? [['Content key', `${contentKey.tag} (${contentKey.source})`] as [string, string]] : []),
  ];
  if (!ecr || !outcome.repository || !outcome.digest) {
    for (const output of ['image', 'digest', 'repository-uri', 'tags']) setOutput(output, '');
    setOutput('skipped', false);
    setOutput('content-key', contentKey?.tag ?? '');
    summary.addTable(['', ''], facts);
    return;
  }
  const name = spec.config.repository;
  const uri = outcome.repository.repositoryUri ?? '';
  const detail = await describeImage(ecr, name, outcome.digest);
  const tags = [...(detail?.imageTags ?? [])].sort();
  setOutput('image', `${uri}@${outcome.digest}`);
  setOutput('digest', outcome.digest);
  setOutput('tags', tags.join(','));
  setOutput('skipped', outcome.skipped);
  setOutput('repository-uri', uri);
  setOutput('content-key', contentKey?.tag ?? '');
  summary.addTable(
    ['', ''],
    [
      ['Image', `\`${uri}@${outcome.digest}\``],
      ['Tags', tags.join(', ')],
      ['Size', detail?.imageSizeInBytes === undefined ? undefined : formatBytes(detail.imageSizeInBytes)],
      ['Scan on push', outcome.repository.imageScanningConfiguration?.scanOnPush ? 'on' : 'off'],
      ...facts,
    ],
  );
}
