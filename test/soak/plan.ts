// The soak's plan: which action each run invokes, on which environment, with which inputs, and where
// it is killed. Pure and seeded: the same seed and run count give the same plan on any machine.
import { prng } from '../helpers/prng.ts';

/** A 32-bit seed of its own for each use (fault rules, plan), derived from the soak's seed (FNV-1a). */
export function deriveSeed(seed: number, label: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}:${label}`) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193) >>> 0;
  return hash;
}

export type StepKind = 'provision' | 'provision-crash' | 'rollout' | 'rollout-crash' | 'sleep' | 'wake' | 'teardown';

export const ACTION_OF: Record<StepKind, string> = {
  provision: 'provision-platform',
  'provision-crash': 'provision-platform',
  rollout: 'rollout-with-circuit-breaker',
  'rollout-crash': 'rollout-with-circuit-breaker',
  sleep: 'scale-schedule',
  wake: 'scale-schedule',
  teardown: 'teardown-env',
};

export interface Step {
  /** Position in the plan, 1-based, as the summary names it. */
  id: number;
  environment: string;
  kind: StepKind;
  /** provision and rollout: the image; a crash image for the *-crash kinds. */
  image?: string;
  /** provision: the desired count. */
  desired?: number;
  /** teardown: whether the listener-arn input narrows the search. */
  withListener?: boolean;
  /** A crashing image fails the deployment and ECS's circuit breaker rolls back: the run must fail so. */
  expect: 'success' | 'rolled-back';
  /** Wall milliseconds after which each of the first attempts is SIGKILLed; the attempt after the last runs to its end. */
  kills: number[];
}

export interface Plan {
  seed: number;
  environments: string[];
  steps: Step[];
  /** Images whose tasks crash, to register as emulator behaviours before the soak. */
  crashImages: string[];
}

interface PlannedEnvironment {
  present: boolean;
  asleep: boolean;
  /** The inputs of its last provision, which a later provision may repeat as a user re-runs a workflow. */
  provisioned?: { image: string; desired: number };
}

type Weights = Partial<Record<StepKind | 'provision-again', number>>;

/** What may happen to an environment next, by its state: a crash only where tasks run, so a rollback has a revision to return to. */
function weights(state: PlannedEnvironment): Weights {
  if (!state.present) return { provision: 8, teardown: 1 };
  if (state.asleep) return { wake: 4, rollout: 1.5, sleep: 0.5, teardown: 1.5, provision: 0.5, 'provision-again': 0.5 };
  return { rollout: 4, 'rollout-crash': 2, provision: 1.5, 'provision-again': 1.5, 'provision-crash': 1, sleep: 2, wake: 0.5, teardown: 1.5 };
}

function pick<T extends string>(random: () => number, table: Partial<Record<T, number>>): T {
  const entries = Object.entries(table) as [T, number][];
  let roll = random() * entries.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [key, weight] of entries) {
    roll -= weight;
    if (roll < 0) return key;
  }
  return (entries.at(-1) as [T, number])[0];
}

export interface PlanOptions {
  runs: number;
  seed: number;
  environments: number;
  /** Chance that a run is killed once (and, at a quarter of it, twice) before it is let finish. */
  killRate?: number;
  /** Kill delays are drawn from [min, max] wall milliseconds, evenly on a log scale: early and late kills alike. */
  killDelayMs?: [number, number];
}

export function makePlan(options: PlanOptions): Plan {
  const random = prng(deriveSeed(options.seed, 'plan'));
  const environments = Array.from({ length: options.environments }, (_, index) => `soak-${index + 1}`);
  const states = new Map(environments.map((environment) => [environment, { present: false, asleep: false } as PlannedEnvironment]));
  const killRate = options.killRate ?? 0.2;
  const [minDelay, maxDelay] = options.killDelayMs ?? [200, 20_000];
  const delay = () => Math.round(minDelay * (maxDelay / minDelay) ** random());
  const steps: Step[] = [];
  const crashImages: string[] = [];
  let images = 0;
  // Rounds visit every environment once in a shuffled order, so runs stay spread over all of them.
  while (steps.length < options.runs) {
    const round = [...environments];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [round[i], round[j]] = [round[j] as string, round[i] as string];
    }
    for (const environment of round) {
      if (steps.length >= options.runs) break;
      const state = states.get(environment) as PlannedEnvironment;
      const choice = pick(random, weights(state));
      const kills: number[] = [];
      if (random() < killRate) {
        kills.push(delay());
        if (random() < 0.25) kills.push(delay());
      }
      const step: Step = { id: steps.length + 1, environment, kind: choice === 'provision-again' ? 'provision' : choice, expect: 'success', kills };
      if (choice === 'provision-again' && state.provisioned) {
        step.image = state.provisioned.image;
        step.desired = state.provisioned.desired;
      } else if (choice === 'provision' || choice === 'provision-again' || choice === 'rollout') {
        step.image = `soak/web:v${++images}`;
        if (choice !== 'rollout') step.desired = random() < 0.5 ? 1 : 2;
      } else if (choice === 'provision-crash' || choice === 'rollout-crash') {
        step.image = `soak/web:crash${++images}`;
        crashImages.push(step.image);
        step.expect = 'rolled-back';
        // The same inputs as the last provision but the image, so only the image makes it fail.
        if (choice === 'provision-crash') step.desired = state.provisioned?.desired ?? 1;
      } else if (choice === 'teardown') step.withListener = random() < 0.5;

      if (step.kind === 'provision') {
        state.present = true;
        state.asleep = false;
        state.provisioned = { image: step.image as string, desired: step.desired as number };
      } else if (step.kind === 'sleep' && state.present) state.asleep = true;
      else if (step.kind === 'wake') state.asleep = false;
      else if (step.kind === 'teardown') {
        state.present = false;
        state.asleep = false;
        delete state.provisioned;
      }
      steps.push(step);
    }
  }
  return { seed: options.seed, environments, steps, crashImages };
}

/** How many steps of each kind, and how many kills, the plan holds. */
export function planCounts(plan: Plan): { kinds: Record<string, number>; kills: number } {
  const kinds: Record<string, number> = {};
  for (const step of plan.steps) kinds[step.kind] = (kinds[step.kind] ?? 0) + 1;
  return { kinds, kills: plan.steps.reduce((sum, step) => sum + step.kills.length, 0) };
}
