import { m } from '$lib/paraglide/messages';

/** The sentence for a problem code returned by an auth form action. */
export function passwordProblemText(problem: string, minLength: number): string {
	switch (problem) {
		case 'too_short':
			return m.auth_problem_too_short({ min: minLength });
		case 'too_long':
			return m.auth_problem_too_long();
		case 'common':
			return m.auth_problem_common();
		case 'same_as_email':
			return m.auth_problem_same_as_email();
		case 'demo_password':
			return m.auth_problem_demo_password();
		case 'mismatch':
			return m.auth_problem_mismatch();
		case 'wrong_code':
			return m.auth_problem_wrong_code();
		case 'wrong_password':
			return m.auth_problem_wrong_password();
		case 'wrong_current_factor':
			return m.auth_problem_wrong_current_factor();
		case 'locked':
			return m.auth_error_locked();
		case 'ended':
			return m.auth_problem_ended();
		case 'newer':
			return m.auth_problem_session_newer();
		default:
			return m.auth_problem_generic();
	}
}
