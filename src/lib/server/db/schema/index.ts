export * from './reference';
export * from './account';
export * from './auth';
export * from './vault';
export * from './audit';
export * from './admin';
