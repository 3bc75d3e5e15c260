import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layering rules in eslint.config.js, tried on one-line files that exist only here: each
 * import is linted as if written in the named file, so a rule that stops guarding fails a case.
 */
const eslint = new ESLint({ cwd: fileURLToPath(new URL('../../', import.meta.url)) });

/** The `no-restricted-imports` complaints about importing `specifier` from `filePath`. */
async function refusals(filePath: string, specifier: string): Promise<string[]> {
  const code = `import { x } from '${specifier}';\nexport { x };\n`;
  const [result] = await eslint.lintText(code, { filePath });
  if (!result) throw new Error(`ESLint returned nothing for ${filePath}`);
  const other = result.messages.filter((m) => m.ruleId !== 'no-restricted-imports');
  // A parse error or an ignored path would look like "allowed"; neither may pass unseen.
  expect(other, `${filePath} should lint cleanly apart from its import`).toEqual([]);
  expect(result.warningCount, `${filePath} is ignored by the lint config`).toBe(0);
  return result.messages.map((m) => m.message);
}

const forbidden: [file: string, specifier: string, why: RegExp][] = [
  // main/ never imports the page's code, the shell included.
  ['main/host/probe.ts', '../../renderer/src/store/store.js', /never imports the page/],
  ['main/electron/probe.ts', '../../renderer/src/transport/ws-bridge.js', /never imports the page/],
  // Outside proxy-core/ (tests apart), the core only through its index.
  ['main/host/probe.ts', '../../proxy-core/clock.js', /through proxy-core\/index\.js/],
  ['main/electron/probe.ts', '../../proxy-core/forward/connect-target.js', /through proxy-core\/index\.js/],
  ['bench/probe.ts', '../proxy-core/ca/leaf-certificates.js', /through proxy-core\/index\.js/],
  ['e2e/probe.spec.ts', '../proxy-core/options.js', /through proxy-core\/index\.js/],
  // app/ and renderer/ reach no core at all, not even its index.
  ['app/probe.ts', '../proxy-core/index.js', /depends on nothing/],
  ['renderer/src/probe.ts', '../../proxy-core/index.js', /only through app\/contract/],
  ['renderer/src/probe.ts', '../../main/host/sluice-host.js', /only through app\/contract/],
  // The page and the contract run without Node, whichever way a built-in is named.
  ['renderer/src/probe.ts', 'node:fs', /no Node imports/],
  ['renderer/src/probe.ts', 'fs', /no Node imports/],
  ['renderer/src/probe.ts', 'fs/promises', /no Node imports/],
  ['renderer/src/app/probe.tsx', 'node:worker_threads', /no Node imports/],
  ['app/probe.ts', 'node:path', /no Node imports/],
  ['app/transport/probe.ts', 'path', /no Node imports/],
  ['app/probe.ts', 'react', /free of UI/],
  // Electron only in the shell.
  ['renderer/src/probe.ts', 'electron', /only through app\/contract/],
  ['app/probe.ts', 'electron', /free of Electron/],
  ['proxy-core/probe.ts', 'electron', /free of Electron/],
  ['main/host/probe.ts', 'electron', /Only main\/electron\//],
  ['main/probe.ts', 'electron', /Only main\/electron\//],
  ['bench/probe.ts', 'electron', /Only main\/electron\//],
  ['test/main/probe.test.ts', 'electron', /Only main\/electron\//],
  // The core never imports the layers above it.
  ['proxy-core/probe.ts', '../main/host/sluice-host.js', /never imports main/],
  // The page decodes protobuf with @bufbuild/protobuf, never protobuf.js or gRPC's Node packages.
  ['app/probe.ts', 'protobufjs', /decode with @bufbuild\/protobuf/],
  ['renderer/src/rpc/probe.ts', 'protobufjs/ext/descriptor', /decode with @bufbuild\/protobuf/],
  ['renderer/src/probe.ts', '@grpc/grpc-js', /decode with @bufbuild\/protobuf/],
];

const allowed: [file: string, specifier: string][] = [
  ['main/host/probe.ts', '../../proxy-core/index.js'],
  ['main/host/probe.ts', '../../app/contract.js'],
  ['main/host/probe.ts', 'node:fs'],
  ['main/electron/probe.ts', 'electron'],
  ['main/electron/probe.ts', '../../app/transport/port-bridge.js'],
  ['main/electron/probe.ts', '../../proxy-core/index.js'],
  ['bench/probe.ts', '../proxy-core/index.js'],
  ['e2e/probe.spec.ts', '../app/transport/batch-fanout.js'],
  // Unit tests test the core's internals.
  ['test/proxy-core/probe.test.ts', '../../proxy-core/clock.js'],
  ['renderer/src/probe.ts', '../../app/transport/connection.js'],
  ['renderer/src/probe.ts', 'react'],
  ['app/transport/probe.ts', '../contract.js'],
  ['proxy-core/probe.ts', '../app/proxy-events.js'],
  ['proxy-core/probe.ts', 'node:net'],
  ['app/probe.ts', '@bufbuild/protobuf'],
  ['main/schema/probe.ts', 'protobufjs'],
];

describe('lint keeps the layers apart', () => {
  it.each(forbidden)('%s may not import %s', async (file, specifier, why) => {
    const messages = await refusals(file, specifier);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(why);
  });

  it.each(allowed)('%s may import %s', async (file, specifier) => {
    expect(await refusals(file, specifier)).toEqual([]);
  });
});
