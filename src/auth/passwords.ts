import bcrypt from 'bcrypt'

const COMMON = new Set(['password1234', '123456789012', 'qwertyuiopas', 'passwordpassword', 'letmeinletmein', 'administrator', 'changemechangeme'])

/** Why a password is refused, or null. bcrypt reads at most 72 bytes, so longer is refused too. */
export function passwordWeakness (password: string, email?: string): string | null {
  if (password.length < 12) return 'password must be at least 12 characters long'
  if (Buffer.byteLength(password, 'utf8') > 72) return 'password must be at most 72 bytes (bcrypt ignores the rest)'
  if (new Set(password).size < 5) return 'password must use at least 5 different characters'
  if (COMMON.has(password.toLowerCase())) return 'password is too common'
  const local = email?.split('@')[0]?.toLowerCase()
  if (local !== undefined && local.length >= 4 && password.toLowerCase().includes(local)) return 'password must not contain the email name'
  return null
}

export async function hashPassword (password: string, rounds: number): Promise<string> {
  return await bcrypt.hash(password, rounds)
}

export async function verifyPassword (password: string, hash: string): Promise<boolean> {
  return await bcrypt.compare(password, hash)
}
