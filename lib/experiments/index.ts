export * from './stats';
export * from './timing';
export * from './runs';
export * from './report';
export * from './timing-study';
export * from './runner';
export * from './inference-runs';
export * from './design-studies';
