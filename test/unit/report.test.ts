import { afterEach, expect, jest, test } from '@jest/globals';
import { Progress, Summary, table } from '../../src/report.ts';

afterEach(() => {
  jest.restoreAllMocks();
});

test('progress lines carry the elapsed time', () => {
  let now = 1_000_000;
  const written: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  const progress = new Progress(() => now);
  now += 95_000;
  progress.line('waiting for 3 tasks');
  expect(written.join('')).toBe('[ 1m35s] waiting for 3 tasks\n');
});

test('table cells are escaped so a value cannot break the table', () => {
  expect(
    table(
      ['a', 'b'],
      [
        ['x|y', 'line1\nline2'],
        [undefined, 3],
      ],
    ),
  ).toBe('| a | b |\n| --- | --- |\n| x\\|y | line1<br>line2 |\n| — | 3 |');
});

test('a failed run summary leads with the error and the fix, then the sections', () => {
  const summary = new Summary('rollout-with-circuit-breaker');
  summary.addTable(['service', 'status'], [['web', 'rolled-back']]);
  const text = summary.render({ ok: false, message: 'deployment failed', hint: 'see the stopped tasks', elapsedSeconds: 75 });
  expect(text).toBe(
    '### rollout-with-circuit-breaker: ❌ failed in 1m15s\n\n```text\ndeployment failed\n```\n\n**How to fix:** see the stopped tasks\n\n| service | status |\n| --- | --- |\n| web | rolled-back |\n',
  );
});

test('a failure message holding backticks stays inside its block: the fence is longer than any run in it', () => {
  const message = 'container web exited 1\n```\n## not a heading\n````';
  const rendered = new Summary('rollout').render({ ok: false, message, elapsedSeconds: 3 });
  const fence = rendered.split('\n').find((line) => line.startsWith('`')) ?? '';
  expect(fence).toBe('`````text');
  expect(rendered).toContain(`${fence}\n${message}\n\`\`\`\`\`\n`);
});
