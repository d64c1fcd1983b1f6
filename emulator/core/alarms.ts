// CloudWatch alarm states, set through POST /_emulator/alarms: what ECS watches during a deployment.
// Alarms are only names with a state; there are no metrics, and an alarm never set is OK.
import { AwsError } from './types.ts';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
const STATES: AlarmState[] = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

export class AlarmStore {
  private states = new Map<string, { state: AlarmState; updatedAt: number }>();
  private listeners: ((name: string, state: AlarmState) => void)[] = [];

  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  set(input: unknown): { name: string; state: AlarmState } {
    const o = (input ?? {}) as Record<string, unknown>;
    if (typeof o.name !== 'string' || !o.name) throw new AwsError('ValidationError', 'name is required');
    if (!STATES.includes(o.state as AlarmState)) throw new AwsError('ValidationError', `state must be one of ${STATES.join(', ')}`);
    const state = o.state as AlarmState;
    this.states.set(o.name, { state, updatedAt: this.now() });
    for (const fn of this.listeners) fn(o.name, state);
    return { name: o.name, state };
  }

  state(name: string): AlarmState {
    return this.states.get(name)?.state ?? 'OK';
  }

  list(): { alarms: { name: string; state: AlarmState; updatedAt: string }[] } {
    return { alarms: [...this.states].map(([name, a]) => ({ name, state: a.state, updatedAt: new Date(a.updatedAt).toISOString() })) };
  }

  onChange(fn: (name: string, state: AlarmState) => void): void {
    this.listeners.push(fn);
  }

  clear(): void {
    this.states.clear();
  }
}
