import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { groupByLevel, heatApplies, heatColors, heatLevel, HEAT_LEVELS } from '../src/lib/heat';
import { packageJson } from './paths';

test('heat maps to levels 1..5 in equal buckets; tiny heat gets no colour', () => {
  assert.equal(heatLevel(0), 0);
  assert.equal(heatLevel(0.01), 0);
  assert.equal(heatLevel(0.05), 1);
  assert.equal(heatLevel(0.2), 1);
  assert.equal(heatLevel(0.21), 2);
  assert.equal(heatLevel(0.5), 3);
  assert.equal(heatLevel(0.8), 4);
  assert.equal(heatLevel(0.81), 5);
  assert.equal(heatLevel(1), 5);
  assert.equal(heatLevel(7), 5);
  assert.equal(heatLevel(Number.NaN), 0);
});

test('levels never decrease as heat grows', () => {
  let previous = 0;
  for (let h = 0; h <= 1.0001; h += 0.001) {
    const level = heatLevel(h);
    assert.ok(level >= previous, `heat ${h}`);
    previous = level;
  }
  assert.equal(previous, HEAT_LEVELS);
});

test('groupByLevel puts lines in their level and drops bad line numbers', () => {
  const groups = groupByLevel([
    { line: 6, cpu: 21, peakMb: 0, heat: 0.66 },
    { line: 14, cpu: 32, peakMb: 2, heat: 1 },
    { line: 13, cpu: 2.7, peakMb: 0, heat: 0.08 },
    { line: 3, cpu: 0.1, peakMb: 0, heat: 0.003 },
    { line: -1, cpu: 1, peakMb: 0, heat: 1 },
  ]);
  assert.deepEqual(groups, [[], [13], [], [], [6], [14]]);
});

function alpha(hex: string): number {
  return parseInt(hex.slice(7, 9), 16);
}

test('colour alpha grows with the level, separately for light and dark themes', () => {
  const backgrounds = heatColors().filter((c) => c.id.endsWith('Background'));
  assert.equal(backgrounds.length, HEAT_LEVELS);
  for (const theme of ['dark', 'light'] as const) {
    const alphas = backgrounds.map((c) => alpha(c.defaults[theme]));
    for (let i = 1; i < alphas.length; i++) {
      assert.ok(alphas[i] > alphas[i - 1], `${theme}: ${alphas.join(',')}`);
    }
    // Background stays translucent so that selection and text remain readable.
    assert.ok(alphas[alphas.length - 1] <= 0x70, `${theme} max alpha`);
  }
  assert.notDeepEqual(
    backgrounds.map((c) => c.defaults.dark),
    backgrounds.map((c) => c.defaults.light),
  );
  for (const c of heatColors()) {
    for (const value of Object.values(c.defaults)) {
      assert.match(value, /^#[0-9a-f]{8}$/);
    }
  }
});

test('package.json contributes exactly these colours', () => {
  const contributed = packageJson().contributes.colors;
  assert.deepEqual(
    contributed,
    heatColors().map((c) => ({ id: c.id, description: c.description, defaults: c.defaults })),
  );
});

test('a heat notification applies only to its document version; "draw nothing" always applies', () => {
  const lines = [{ line: 1, cpu: 1, peakMb: 0, heat: 1 }];
  assert.equal(heatApplies({ uri: 'file:///a.py', version: 3, lines }, 3), true);
  assert.equal(heatApplies({ uri: 'file:///a.py', version: 3, lines }, 4), false);
  assert.equal(heatApplies({ uri: 'file:///a.py', version: 3, lines: [] }, 4), true);
});
