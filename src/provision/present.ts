// Parsing SDK shapes at the edge: a field AWS documents as always present is required where it is read.
import { ActionError } from '../errors.ts';

/** The value, or an error naming the call that returned none (rather than carrying on with ''). */
export function present<T>(value: T | undefined | null, field: string, call: string): T {
  if (value === undefined || value === null || value === '') {
    throw new ActionError(`${call} returned no ${field}.`, 'retry the step; if it persists, report it with this log.');
  }
  return value;
}
