export const root: string
export const stampFile: string
export const testStampFile: string
export function buildState(): {
  inputs: { prisma: string; all: string }
  previous: { prisma?: string; all?: string }
  clientPresent: boolean
  upToDate: boolean
}
export function testBuildState(): { all: string; upToDate: boolean }
