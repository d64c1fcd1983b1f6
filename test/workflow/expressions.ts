// `${{ }}` templates and `if:` conditions, evaluated with @actions/expressions (GitHub's own lexer,
// parser and evaluator) plus the functions the runner adds: the status functions and hashFiles.
import { createHash } from 'node:crypto';
import { globSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition } from '@actions/expressions/funcs/info';
import { type Token, TokenType } from '@actions/expressions/lexer';
import { truthy } from '@actions/expressions/result';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What an expression can see at one place of the workflow. */
export interface Scope {
  /** The contexts GitHub makes available there, by name; any other name fails to parse, as on GitHub. */
  contexts: Record<string, JsonValue>;
  /** The workspace hashFiles reads; hashFiles is available only where this is set. */
  workspace?: string;
}

/** The job's state the status functions read in an `if:`. */
export interface Status {
  success: boolean;
  failure: boolean;
}

const STATUS_FUNCTIONS = ['success', 'failure', 'cancelled', 'always'];

function toData(value: JsonValue | undefined): data.ExpressionData {
  if (value === null || value === undefined) return new data.Null();
  if (typeof value === 'string') return new data.StringData(value);
  if (typeof value === 'number') return new data.NumberData(value);
  if (typeof value === 'boolean') return new data.BooleanData(value);
  if (Array.isArray(value)) return new data.Array(...value.map(toData));
  return new data.Dictionary(...Object.entries(value).map(([key, item]) => ({ key, value: toData(item) })));
}

function toJson(value: data.ExpressionData): JsonValue {
  if (value instanceof data.Array) return value.values().map(toJson);
  if (value instanceof data.Dictionary) return Object.fromEntries(value.pairs().map(({ key, value: item }) => [key, toJson(item)]));
  if (value instanceof data.Null) return null;
  if (value instanceof data.BooleanData) return value.value;
  if (value instanceof data.NumberData) return value.number();
  return value.coerceString();
}

function define(name: string, minArgs: number, maxArgs: number, call: (...args: data.ExpressionData[]) => data.ExpressionData): FunctionDefinition {
  return { name, minArgs, maxArgs, call };
}

/** Evaluates one expression (the text inside `${{ }}`). */
function evaluateExpression(expression: string, scope: Scope, status?: Status): data.ExpressionData {
  const functions = new Map<string, FunctionDefinition>();
  if (status) {
    functions.set(
      'success',
      define('success', 0, 0, () => new data.BooleanData(status.success)),
    );
    functions.set(
      'failure',
      define('failure', 0, 0, () => new data.BooleanData(status.failure)),
    );
    // Nothing cancels a run here.
    functions.set(
      'cancelled',
      define('cancelled', 0, 0, () => new data.BooleanData(false)),
    );
    functions.set(
      'always',
      define('always', 0, 0, () => new data.BooleanData(true)),
    );
  }
  const { workspace } = scope;
  if (workspace) {
    functions.set(
      'hashfiles',
      define(
        'hashFiles',
        1,
        255,
        (...patterns) =>
          new data.StringData(
            hashFiles(
              workspace,
              patterns.map((p) => p.coerceString()),
            ),
          ),
      ),
    );
  }
  try {
    const tree = new Parser(lex(expression), Object.keys(scope.contexts), [...functions.values()]).parse();
    if (!tree) throw new Error('empty expression');
    return new Evaluator(tree, toData(scope.contexts) as data.Dictionary, functions).evaluate();
  } catch (error) {
    throw new Error(`\${{ ${expression} }}: ${(error as Error).message}`);
  }
}

function lex(expression: string): Token[] {
  const tokens = new Lexer(expression).lex().tokens;
  // @actions/expressions 0.3.61 unescapes only the first '' of a string literal; GitHub unescapes every one.
  for (const token of tokens) if (token.type === TokenType.STRING) token.value = token.lexeme.slice(1, -1).replaceAll("''", "'");
  return tokens;
}

type Segment = { literal: string } | { expression: string };

/** Splits text at `${{ }}`, skipping `}}` inside quoted strings as GitHub's reader does. */
function segments(text: string): Segment[] {
  const result: Segment[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf('${{', at);
    if (open < 0) break;
    let close = -1;
    let quoted = false;
    for (let i = open + 3; i < text.length - 1 && close < 0; i++) {
      if (text[i] === "'") quoted = !quoted;
      else if (!quoted && text[i] === '}' && text[i + 1] === '}') close = i;
    }
    if (close < 0) throw new Error(`unclosed \${{ in ${JSON.stringify(text)}`);
    if (open > at) result.push({ literal: text.slice(at, open) });
    result.push({ expression: text.slice(open + 3, close).trim() });
    at = close + 2;
  }
  if (at < text.length) result.push({ literal: text.slice(at) });
  return result;
}

/**
 * The expression GitHub reads from a string: undefined without `${{ }}`; the inner expression when the
 * string is one `${{ }}` (its value keeps its type); otherwise a format() call that makes a string.
 */
export function templateExpression(text: string): string | undefined {
  const parts = segments(text);
  if (!parts.some((part) => 'expression' in part)) return undefined;
  const [only] = parts;
  if (parts.length === 1 && only && 'expression' in only) return only.expression;
  const args: string[] = [];
  const format = parts
    .map((part) => {
      if ('literal' in part) return part.literal.replace(/'/g, "''").replace(/\{/g, '{{').replace(/\}/g, '}}');
      args.push(part.expression);
      return `{${args.length - 1}}`;
    })
    .join('');
  return `format('${format}', ${args.join(', ')})`;
}

/** Evaluates every string in a YAML value (mapping keys stay as written). */
export function evaluateTemplate(value: unknown, scope: Scope): JsonValue {
  if (typeof value === 'string') {
    const expression = templateExpression(value);
    return expression === undefined ? value : toJson(evaluateExpression(expression, scope));
  }
  if (Array.isArray(value)) return value.map((item) => evaluateTemplate(item, scope));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, evaluateTemplate(item, scope)]));
  return (value ?? null) as JsonValue;
}

/** A template as the string the runner passes on (env values, inputs, outputs, scripts). */
export function evaluateString(value: unknown, scope: Scope): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') return String(value);
  const expression = templateExpression(value);
  return expression === undefined ? value : evaluateExpression(expression, scope).coerceString();
}

/** An `if:`: bare or wrapped in `${{ }}`; without a status function it means `success() && (...)`. */
export function evaluateCondition(value: unknown, scope: Scope, status: Status): boolean {
  const text = typeof value === 'string' ? (templateExpression(value) ?? value).trim() : value === undefined || value === null ? '' : String(value);
  let expression = text || 'success()';
  const tokens = lex(expression);
  const hasStatus = tokens.some(
    (token, index) =>
      token.type === TokenType.IDENTIFIER && STATUS_FUNCTIONS.includes(token.lexeme.toLowerCase()) && tokens[index + 1]?.type === TokenType.LEFT_PAREN,
  );
  if (!hasStatus) expression = `success() && (${expression})`;
  return truthy(evaluateExpression(expression, scope, status));
}

/**
 * The runner's hashFiles: SHA-256 over the SHA-256 of each matching file under the workspace, in path
 * order; '' when nothing matches. `!pattern` excludes.
 */
export function hashFiles(workspace: string, patterns: string[]): string {
  const include = patterns.filter((pattern) => !pattern.startsWith('!'));
  const exclude = patterns.filter((pattern) => pattern.startsWith('!')).map((pattern) => pattern.slice(1));
  const files = globSync(include, { cwd: workspace, exclude })
    .filter((file) => statSync(join(workspace, file)).isFile())
    .sort();
  if (files.length === 0) return '';
  const total = createHash('sha256');
  for (const file of files)
    total.update(
      createHash('sha256')
        .update(readFileSync(join(workspace, file)))
        .digest(),
    );
  return total.digest('hex');
}
