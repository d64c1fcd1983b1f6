// The event that started the workflow run, as the runner hands it over (GITHUB_EVENT_PATH).
import { readFileSync } from 'node:fs';

const PULL_REQUEST_EVENTS = ['pull_request', 'pull_request_target'];

/** The pull request's number on pull-request events; undefined on any other event or without a payload. */
export function pullRequestNumber(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (!PULL_REQUEST_EVENTS.includes(env.GITHUB_EVENT_NAME ?? '') || !env.GITHUB_EVENT_PATH) return undefined;
  try {
    const payload = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { pull_request?: { number?: unknown }; number?: unknown };
    const number = payload.pull_request?.number ?? payload.number;
    return typeof number === 'number' && Number.isInteger(number) && number > 0 ? number : undefined;
  } catch {
    // No readable payload (a local run): behave as on any other event.
    return undefined;
  }
}
