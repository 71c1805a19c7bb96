// The extension's own command ids (package.json "contributes.commands"). They differ from the server's
// workspace/executeCommand ids (scalene.profile, scalene.cancel, ...), which vscode-languageclient
// registers for code lenses and code actions and which are not in the Command Palette.
export const COMMANDS = {
  profile: 'scalene.profileFile',
  profileWithArgs: 'scalene.profileFileWithArgs',
  profileCpu: 'scalene.profileFileCpu',
  cancel: 'scalene.cancelRun',
  clear: 'scalene.clearProfiles',
  toggle: 'scalene.toggleAnnotations',
  load: 'scalene.loadJson',
  output: 'scalene.showOutput',
  restart: 'scalene.restartServer',
  mcpConfig: 'scalene.copyMcpConfiguration',
  profileLive: 'scalene.profileFileLive',
  profileLivePaused: 'scalene.profileFileLivePaused',
  pauseRecording: 'scalene.pauseRecording',
  resumeRecording: 'scalene.resumeRecording',
  saveBaseline: 'scalene.saveProfileAsBaseline',
  compareBaseline: 'scalene.compareWithBaseline',
  exitCompare: 'scalene.exitCompareMode',
  flameGraph: 'scalene.showFlameGraph',
  exportProfile: 'scalene.exportProfileAs',
  attachProcess: 'scalene.attachToProcess',
  profileTests: 'scalene.profileTestSuite',
} as const;

/** A process `scalene.listProcesses` lists (docs/lsp.md). */
export interface PythonProcess {
  pid: number;
  command_line: string;
  cwd?: string | null;
  age_s: number;
  python_version?: string | null;
  in_workspace: boolean;
}

/** How the Attach to Process picker shows a process: its pid and command line, then its age and folder. */
export function processItem(process: PythonProcess): { label: string; description: string; detail: string } {
  const age = process.age_s < 60 ? `${Math.floor(process.age_s)} s` : process.age_s < 3600 ? `${Math.floor(process.age_s / 60)} min` : `${Math.floor(process.age_s / 3600)} h`;
  const python = process.python_version ? `Python ${process.python_version} · ` : '';
  return {
    label: `${process.pid}  ${process.command_line}`,
    description: `${process.in_workspace ? 'in this workspace · ' : ''}${python}started ${age} ago`,
    detail: process.cwd ?? '',
  };
}

/** The export formats of `scalene.exportProfile`, as the Export Profile picker lists them. */
export const EXPORT_FORMATS = [
  { format: 'flamegraph', label: 'Flame graph (SVG)', detail: 'An interactive SVG: open it in a browser', extension: 'svg' },
  { format: 'speedscope', label: 'speedscope', detail: 'Open it at speedscope.app or with `npx speedscope FILE`', extension: 'speedscope.json' },
  { format: 'cpuprofile', label: 'CPU profile (.cpuprofile)', detail: "VS Code's own profile viewer, Chrome DevTools", extension: 'cpuprofile' },
  { format: 'collapsed', label: 'Collapsed stacks', detail: 'Folded stacks for inferno, flamegraph.pl, perfanno.nvim', extension: 'collapsed.txt' },
] as const;

/** The server's commands (docs/lsp.md), called with workspace/executeCommand. */
export const SERVER_COMMANDS = [
  'scalene.profile',
  'scalene.profileTest',
  'scalene.profileTests',
  'scalene.cancel',
  'scalene.pause',
  'scalene.resume',
  'scalene.clear',
  'scalene.loadProfile',
  'scalene.toggle',
  'scalene.saveBaseline',
  'scalene.compare',
  'scalene.exitCompare',
  'scalene.exportProfile',
  'scalene.listProcesses',
  'scalene.attach',
] as const;
