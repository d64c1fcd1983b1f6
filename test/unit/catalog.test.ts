// The catalog tells users what other roles need for an input to work, beside the action's own policy.
import { expect, test } from '@jest/globals';
import { readActions, renderCatalog } from '../../scripts/catalog.ts';

test('an action with enable-execute-command says, after its policy, what the task role needs for ECS Exec; the others do not', () => {
  const catalog = renderCatalog();
  const sections = new Map(
    [...readActions().keys()].map((name) => {
      const start = catalog.indexOf(`\n## ${name}\n`);
      const end = catalog.indexOf('\n## ', start + 1);
      return [name, catalog.slice(start, end === -1 ? undefined : end)];
    }),
  );
  const note =
    /\*\*task role\*\* \(`taskRoleArn` of the task definition\), not this one: it needs `ssmmessages:CreateControlChannel`, `ssmmessages:CreateDataChannel`, `ssmmessages:OpenControlChannel` and `ssmmessages:OpenDataChannel`/;
  const rollout = sections.get('rollout-with-circuit-breaker') ?? '';
  expect(rollout).toMatch(note);
  expect(rollout.indexOf('**task role**')).toBeGreaterThan(rollout.indexOf('### IAM permissions'));
  for (const name of ['build-push-ecr', 'rollback-to-revision', 'scale-schedule', 'teardown-env']) expect(sections.get(name)).not.toMatch(note);
});
