/**
 * Work the server does outside any request (a lockout notice, a checkpoint, the reaper's sweep,
 * the administrators' notices), tracked so that shutdown can let it finish before the database
 * closes under it. Each piece of work handles its own failures; this only counts it.
 */
const inFlight = new Set<Promise<unknown>>();

/** Tracks `work` until it settles, and returns it. */
export function track<T>(work: Promise<T>): Promise<T> {
	inFlight.add(work);
	const forget = () => void inFlight.delete(work);
	work.then(forget, forget);
	return work;
}

/** How many pieces of work are under way. */
export function running(): number {
	return inFlight.size;
}

/**
 * Resolves once no tracked work is under way (work started meanwhile included), true; or false
 * when `timeoutMs` passed first.
 */
export async function settled(timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const expired = new Promise<false>((resolve) => {
		if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve(false), timeoutMs);
	});
	try {
		while (inFlight.size > 0) {
			const done = await Promise.race([
				Promise.allSettled([...inFlight]).then(() => true as const),
				expired
			]);
			if (!done) return false;
		}
		return true;
	} finally {
		clearTimeout(timer);
	}
}
