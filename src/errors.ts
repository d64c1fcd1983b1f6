// The errors a user sees: what went wrong and how to fix it.

/** A failure the user can act on: `message` says what happened, `hint` what to do about it. */
export class ActionError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'ActionError';
    this.hint = hint;
  }
}

export interface InputProblem {
  /** The input's name as written under `with:`. */
  input: string;
  problem: string;
  fix: string;
}

/** One or more inputs are wrong; raised before any AWS call. Lists every problem found, not just the first. */
export class InputError extends ActionError {
  readonly problems: InputProblem[];
  constructor(problems: InputProblem[]) {
    const lines = problems.map((p) => `Input "${p.input}": ${p.problem}`);
    const fixes = problems.map((p) => `"${p.input}": ${p.fix}`);
    super(lines.join('\n'), fixes.join('\n'));
    this.name = 'InputError';
    this.problems = problems;
  }
}

export function inputError(input: string, problem: string, fix: string): InputError {
  return new InputError([{ input, problem, fix }]);
}
