import { ref } from 'vue';
import type { Me } from '@contracts/auth';

/** Who is signed in (set by the shell after /auth/me); views read permissions and the maintainer organisation here. */
export const me = ref<Me | null>(null);

/** Whether the signed-in user holds a permission (the server decides anyway; this only hides what would be refused). */
export function can(permission: string): boolean {
  return me.value?.permissions.includes(permission) ?? false;
}
