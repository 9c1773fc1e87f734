import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export class DataDirLockedError extends Error {
	constructor(lockFile: string, pid: number) {
		super(
			`The embedded database folder is in use by another process (pid ${pid}, lock ${lockFile}). ` +
				'Stop that process first (for example the running intranet) and try again.'
		);
		this.name = 'DataDirLockedError';
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

/**
 * PGlite does not lock its folder, and two processes on one folder corrupt it silently.
 * An exclusive-create lock file holding our pid; a lock whose process is gone is taken over.
 */
export function acquireLock(lockFile: string): () => void {
	for (let attempt = 0; attempt < 2; attempt++) {
		try {
			const fd = openSync(lockFile, 'wx', 0o600);
			writeSync(fd, String(process.pid));
			closeSync(fd);
			let released = false;
			const release = () => {
				if (released) return;
				released = true;
				try {
					if (readFileSync(lockFile, 'utf8') === String(process.pid)) rmSync(lockFile);
				} catch {
					// Already gone: nothing to release.
				}
			};
			process.once('exit', release);
			return release;
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
			const pid = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
			if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
				throw new DataDirLockedError(lockFile, pid);
			}
			if (pid === process.pid) throw new DataDirLockedError(lockFile, pid);
			rmSync(lockFile, { force: true });
		}
	}
	throw new Error(`Could not take the lock ${lockFile}`);
}
