// What notebooks use besides the core library: figures, tables, a live training view, scales, and the data of
// notebook 01. Re-exported by lib/index.ts, so a notebook writes `import { plot, showTable } from 'mla-lab'`.
export { plot, figureFiles, FIGURE_FORMATS } from './plot';
export type { PlotOptions, PlotFiles, FigureFormat } from './plot';
export { SMOKE_MARK, withSmokeMark } from './plotly';
export type { Figure } from './plotly';
export { closeBrowser, CHROMIUM_FLAGS, chromiumPath } from './browser';
export { showTable, tableFile, shownColumns, KEY_COLUMNS } from './table';
export type { ShowTableOptions } from './table';
export { liveTraining } from './live';
export type { LiveTraining, LiveTrainingOptions, LiveStep, LiveEval } from './live';
export { lineChartSvg } from './svg-chart';
export type { Series, ChartOptions } from './svg-chart';
export { defaultDisplay, consoleDisplay, recordingDisplay, insideTslab } from './display';
export type { NotebookDisplay, DisplayArea, RecordingDisplay } from './display';
export { projectRoot, outputRoot, isSmokeScale, figuresDir, resultsDir } from './paths';
export { scale, scalePresets, SCALES, SCALE_NAMES, DEFAULT_SCALE, isScaleName } from './scale';
export type { Scale, ScaleName, ScaleTraining, ExperimentScale, TimingScale } from './scale';
export { DEEPSEEK_MLA, deepseekCacheConfigs } from './deepseek';
export type { PublishedMla } from './deepseek';
export { kvCacheRows, kvCacheQuantRows, KV_CONTEXTS } from './kv-cache-report';
export type { KvCacheRow, KvCacheQuantRow, KvCacheStorage } from './kv-cache-report';
export { decodeTimeFigure, type MachineDecodeCostRow, machineRows, type MachineTimingRow, timingFigure } from './decode-cost';
export * from './experiment';
