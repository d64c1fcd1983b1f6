// What the bundles get for `undici`: the real one, loaded on first use. @actions/core imports it
// (through @actions/http-client, for proxied OIDC requests we never make) at startup, where it alone
// costs about 50 ms of every run's cold start; Octokit's fetch and proxy still get it when they run.
let undici;
const load = () => {
  undici ??= require('undici/index.js');
  return undici;
};
module.exports = new Proxy(
  {},
  {
    get: (_, name) => load()[name],
    has: (_, name) => name in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, name) => {
      const descriptor = Object.getOwnPropertyDescriptor(load(), name);
      return descriptor && { ...descriptor, configurable: true };
    },
  },
);
