/**
 * Runs `deleteBatch` until a batch deletes fewer than `batchSize` rows of its `counted` kind, and returns each
 * kind's total: a large backlog goes as many short statements, each committing on its own, never as one long
 * transaction holding row locks.
 */
export async function deleteInBatches<Kind extends string>(
  batchSize: number,
  counted: NoInfer<Kind>,
  deleteBatch: () => Promise<Record<Kind, number>>,
): Promise<Record<Kind, number>> {
  const total = { ...(await deleteBatch()) };
  let deleted = total[counted];
  while (deleted >= batchSize) {
    const batch = await deleteBatch();
    for (const kind of Object.keys(batch) as Kind[]) total[kind] += batch[kind];
    deleted = batch[counted];
  }
  return total;
}
