// Facts about the code and machine a run was made with, for config.json: lib/provenance.ts, the one place
// they are found (the trainer imports them from here).
export { gitCommit, gitDirty, machineInfo, provenance } from '../provenance';
