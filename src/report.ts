// What a person reads: progress lines with elapsed time, and the job summary.
import { formatSeconds } from './inputs.ts';
import { appendSummary, endGroup, info, startGroup } from './runner.ts';

/** Progress lines stamped with the time since the action started, phase by phase. */
export class Progress {
  readonly #startedAt: number;
  readonly #now: () => number;
  #inGroup = false;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#startedAt = now();
  }

  elapsedSeconds(): number {
    return Math.round((this.#now() - this.#startedAt) / 1000);
  }

  line(message: string): void {
    info(`[${formatSeconds(this.elapsedSeconds()).padStart(6)}] ${message}`);
  }

  /** Starts a folded phase of the log, closing the previous one. */
  phase(title: string): void {
    if (this.#inGroup) endGroup();
    startGroup(title);
    this.#inGroup = true;
  }

  end(): void {
    if (this.#inGroup) endGroup();
    this.#inGroup = false;
  }
}

/** Escapes text for a markdown table cell. */
export function cell(value: string | number | boolean | undefined): string {
  if (value === undefined || value === '') return '—';
  return String(value).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A fenced text block that text holding backticks (a container's log, say) cannot close early. */
export function fenced(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestRun + 1));
  return `${fence}text\n${text}\n${fence}`;
}

export function table(headers: string[], rows: (string | number | boolean | undefined)[][]): string {
  // An empty header stays empty: two-column fact tables have none.
  const lines = [`| ${headers.map((header) => (header === '' ? ' ' : cell(header))).join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The job summary of one action run: built up as the action goes, written once at the end. */
export class Summary {
  readonly #title: string;
  readonly #sections: string[] = [];

  constructor(title: string) {
    this.#title = title;
  }

  add(markdown: string): void {
    this.#sections.push(markdown);
  }

  addTable(headers: string[], rows: (string | number | boolean | undefined)[][]): void {
    this.add(table(headers, rows));
  }

  render(outcome: { ok: boolean; message?: string | undefined; hint?: string | undefined; elapsedSeconds: number }): string {
    const status = outcome.ok ? '✅ succeeded' : '❌ failed';
    const parts = [`### ${this.#title}: ${status} in ${formatSeconds(outcome.elapsedSeconds)}`];
    if (!outcome.ok && outcome.message) {
      parts.push(fenced(outcome.message));
      if (outcome.hint) parts.push(`**How to fix:** ${cell(outcome.hint)}`);
    }
    parts.push(...this.#sections);
    return `${parts.join('\n\n')}\n`;
  }

  async write(outcome: Parameters<Summary['render']>[0]): Promise<void> {
    await appendSummary(this.render(outcome));
  }
}

/** Bytes for a person: 1.4 MB, 312 kB, 88 B (decimal units, as ECR's console shows sizes). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} B`;
}
