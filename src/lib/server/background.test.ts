import { describe, expect, it } from 'vitest';
import * as background from './background';
import { shutDown } from './startup';

const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('background work', () => {
	it('settles once the work under way and the work it started are done', async () => {
		const events: string[] = [];
		void background.track(
			after(30).then(() => {
				events.push('first');
				void background.track(after(30).then(() => events.push('second')));
			})
		);
		expect(background.running()).toBe(1);
		expect(await background.settled()).toBe(true);
		expect(events).toEqual(['first', 'second']);
		expect(background.running()).toBe(0);
	});

	it('counts failed work as settled, and hands the failure to whoever holds it', async () => {
		const failing = background.track(after(10).then(() => Promise.reject(new Error('relay down'))));
		await expect(failing).rejects.toThrow('relay down');
		expect(await background.settled(1_000)).toBe(true);
	});

	it('gives up after the time allowed, and the work is still counted', async () => {
		let finish!: () => void;
		const stuck = background.track(new Promise<void>((resolve) => (finish = resolve)));
		const started = performance.now();
		expect(await background.settled(50)).toBe(false);
		expect(performance.now() - started).toBeLessThan(1_000);
		expect(background.running()).toBe(1);
		finish();
		await stuck;
		expect(await background.settled(1_000)).toBe(true);
	});
});

describe('shutdown', () => {
	it('stops the periodic jobs, lets work under way finish, then closes the database', async () => {
		const events: string[] = [];
		void background.track(after(50).then(() => events.push('lockout notice sent')));
		await shutDown(
			[() => events.push('checkpoints stopped'), () => events.push('reaper stopped')],
			{
				close: async () => void events.push('database closed')
			}
		);
		expect(events).toEqual([
			'checkpoints stopped',
			'reaper stopped',
			'lockout notice sent',
			'database closed'
		]);
	});

	it('closes the database after the wait when work never ends', async () => {
		let finish!: () => void;
		const stuck = background.track(new Promise<void>((resolve) => (finish = resolve)));
		let closed = false;
		await shutDown([], { close: async () => void (closed = true) }, 50);
		expect(closed).toBe(true);
		finish();
		await stuck;
	});
});
