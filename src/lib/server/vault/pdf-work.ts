import { getConfig } from '../config';

/**
 * Watermarking and PDF text extraction both hold a whole PDF in memory (pdf-lib and pdf.js
 * need it), so how many run at once is bounded: memory stays under the count times the size
 * limit (WATERMARK_MAX_BYTES, PDF_TEXT_MAX_BYTES) instead of growing with the number of readers.
 */

/** No slot freed up in time: the reader is asked to try again rather than queued for ever. */
export class BusyError extends Error {
	constructor() {
		super('Too many PDFs are being prepared; try again shortly');
		this.name = 'BusyError';
	}
}

export type Release = () => void;

/** A counting semaphore, first come first served. */
export class Slots {
	private running = 0;
	private readonly queue: (() => void)[] = [];
	/** The most ever running at once: what the bound promises, visible to operators and tests. */
	highWater = 0;

	constructor(readonly size: number) {}

	get active(): number {
		return this.running;
	}

	get waiting(): number {
		return this.queue.length;
	}

	/**
	 * Resolves with the function that gives the slot back (idempotent). With `waitMs`, fails
	 * with BusyError if no slot is free within that time; without it, waits its turn.
	 */
	acquire(waitMs?: number): Promise<Release> {
		if (this.running < this.size && this.queue.length === 0) return Promise.resolve(this.take());
		return new Promise((resolve, reject) => {
			let timer: NodeJS.Timeout | undefined;
			const grant = () => {
				clearTimeout(timer);
				resolve(this.take());
			};
			if (waitMs !== undefined) {
				timer = setTimeout(() => {
					const at = this.queue.indexOf(grant);
					if (at >= 0) this.queue.splice(at, 1);
					reject(new BusyError());
				}, waitMs);
			}
			this.queue.push(grant);
		});
	}

	private take(): Release {
		this.running++;
		this.highWater = Math.max(this.highWater, this.running);
		let released = false;
		return () => {
			if (released) return;
			released = true;
			this.running--;
			this.queue.shift()?.();
		};
	}
}

let watermark: Slots | null = null;
let text: Slots | null = null;

/** The process's watermarking slots (WATERMARK_CONCURRENCY). */
export function watermarkSlots(): Slots {
	const size = getConfig().pdfWork.watermarkConcurrency;
	if (watermark?.size !== size) watermark = new Slots(size);
	return watermark;
}

/** The process's PDF text extraction slots (PDF_TEXT_CONCURRENCY). */
export function textSlots(): Slots {
	const size = getConfig().pdfWork.textConcurrency;
	if (text?.size !== size) text = new Slots(size);
	return text;
}
