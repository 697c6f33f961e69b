import { z } from 'zod';

/** Plain messages for the two issues clients hit most: a missing field and a value of the wrong type. */
export function useReadableValidationMessages(): void {
  z.config({
    customError: (issue) => {
      if (issue.code !== 'invalid_type') return undefined;
      if (issue.input === undefined) return 'is required';
      return `must be ${issue.expected === 'object' || issue.expected === 'array' ? 'an' : 'a'} ${issue.expected}`;
    },
  });
}
