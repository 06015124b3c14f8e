// The public API of MLA Lab: what notebooks and scripts import as 'mla-lab'.
export * from './config';
export * from './costs';
export * from './attention';
export * from './model';
export * from './generate';
export * from './data';
export * from './notebook';
export * from './checkpoint';
export * from './train';
export * from './eval';
export * from './experiments';
export * from './backend';
