// nock for one unit-test file: no real network, every mock used by each test, and Node's http given
// back afterwards (nock patches it for the whole jest worker; later files must reach their emulators).
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import nock from 'nock';

export function useNock(options: { awsCredentials?: boolean } = {}): void {
  beforeAll(() => {
    if (options.awsCredentials) {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
      process.env.AWS_SECRET_ACCESS_KEY = 'secret';
      // nock answers at AWS's own hostnames.
      delete process.env.AWS_ENDPOINT_URL;
    }
    if (!nock.isActive()) nock.activate();
    nock.disableNetConnect();
  });
  afterAll(() => {
    nock.enableNetConnect();
    nock.restore();
  });
  afterEach(() => {
    expect(nock.pendingMocks()).toEqual([]);
    nock.cleanAll();
  });
}
