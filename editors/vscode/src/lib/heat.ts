// Heat map: `scalene/lineHeat` lines (heat 0..1) -> one of HEAT_LEVELS decoration types, each with a
// whole-line background and an overview-ruler mark whose alpha grows with the heat. The colours are
// contributed (package.json "colors"), with separate light and dark defaults users can override.
// No `vscode` import: unit-tested in plain Node.

export const HEAT_LEVELS = 5;

/** A `scalene/lineHeat` line (docs/lsp.md). */
export interface HeatLine {
  line: number;
  cpu: number;
  peakMb: number;
  heat: number;
}

export interface LineHeatParams {
  uri: string;
  version: number | null;
  lines: HeatLine[];
}

/** Below this heat a line is not coloured (a line at 1% of the hottest one would be noise). */
export const MIN_HEAT = 0.02;

/** The level (1..HEAT_LEVELS) of a heat, or 0 for no colour. Equal-width buckets over (0, 1]. */
export function heatLevel(heat: number): number {
  if (!Number.isFinite(heat) || heat < MIN_HEAT) {
    return 0;
  }
  const clamped = Math.min(heat, 1);
  return Math.min(HEAT_LEVELS, Math.max(1, Math.ceil(clamped * HEAT_LEVELS)));
}

/** Line numbers per level (index 0 unused). Lines with level 0 are left out. */
export function groupByLevel(lines: readonly HeatLine[]): number[][] {
  const groups: number[][] = Array.from({ length: HEAT_LEVELS + 1 }, () => []);
  for (const line of lines) {
    if (!Number.isInteger(line.line) || line.line < 0) {
      continue;
    }
    groups[heatLevel(line.heat)].push(line.line);
  }
  groups[0] = [];
  return groups;
}

// Base colours: a warm orange-red. Dark themes need less alpha to be seen, light themes a deeper hue.
const DARK_BASE = 'ff6a2a';
const LIGHT_BASE = 'ff4d00';
const BACKGROUND_ALPHA_DARK = [0.07, 0.12, 0.17, 0.23, 0.3];
const BACKGROUND_ALPHA_LIGHT = [0.06, 0.1, 0.14, 0.19, 0.25];
const RULER_ALPHA = [0.35, 0.5, 0.65, 0.8, 0.95];

function hexAlpha(alpha: number): string {
  return Math.round(alpha * 255)
    .toString(16)
    .padStart(2, '0');
}

export interface ContributedColor {
  id: string;
  description: string;
  defaults: { dark: string; light: string; highContrast: string; highContrastLight: string };
}

export function backgroundColorId(level: number): string {
  return `scalene.heat${level}Background`;
}

export function rulerColorId(level: number): string {
  return `scalene.heat${level}OverviewRuler`;
}

/** The colours package.json contributes (a unit test keeps them equal). */
export function heatColors(): ContributedColor[] {
  const colors: ContributedColor[] = [];
  for (let level = 1; level <= HEAT_LEVELS; level++) {
    const i = level - 1;
    const range = `${Math.round((i / HEAT_LEVELS) * 100)}-${Math.round((level / HEAT_LEVELS) * 100)}%`;
    colors.push({
      id: backgroundColorId(level),
      description: `Background of a profiled line at heat level ${level} of ${HEAT_LEVELS} (${range} of the hottest line's CPU or peak memory).`,
      defaults: {
        dark: `#${DARK_BASE}${hexAlpha(BACKGROUND_ALPHA_DARK[i])}`,
        light: `#${LIGHT_BASE}${hexAlpha(BACKGROUND_ALPHA_LIGHT[i])}`,
        highContrast: `#${DARK_BASE}${hexAlpha(BACKGROUND_ALPHA_DARK[i])}`,
        highContrastLight: `#${LIGHT_BASE}${hexAlpha(BACKGROUND_ALPHA_LIGHT[i])}`,
      },
    });
  }
  for (let level = 1; level <= HEAT_LEVELS; level++) {
    const i = level - 1;
    colors.push({
      id: rulerColorId(level),
      description: `Overview ruler mark of a profiled line at heat level ${level} of ${HEAT_LEVELS}.`,
      defaults: {
        dark: `#${DARK_BASE}${hexAlpha(RULER_ALPHA[i])}`,
        light: `#${LIGHT_BASE}${hexAlpha(RULER_ALPHA[i])}`,
        highContrast: `#${DARK_BASE}${hexAlpha(RULER_ALPHA[i])}`,
        highContrastLight: `#${LIGHT_BASE}${hexAlpha(RULER_ALPHA[i])}`,
      },
    });
  }
  return colors;
}

/** Whether a lineHeat notification applies to the document as it is now. */
export function heatApplies(params: LineHeatParams, documentVersion: number | undefined): boolean {
  if (params.lines.length === 0) {
    return true; // "draw nothing" always applies
  }
  return params.version === null || params.version === undefined || params.version === documentVersion;
}
