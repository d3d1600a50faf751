package io.pesakit

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

// The pagers fetch a page at a time and hand out each item once; these adapters expose
// them as a cold Flow (async) or a lazy Sequence (blocking). Each collection or iteration
// starts a fresh pager, so a Flow or Sequence can be consumed more than once.

/**
 * Every transaction matching [filter], newest first, fetched a page at a time as the flow
 * is collected. A failed page fetch throws its [PesakitException] into the collector.
 */
fun PaypackClient.transactionsFlow(filter: TransactionFilter = TransactionFilter()): Flow<Transaction> =
    flow { transactions(filter).use { pager -> pager.emitAllTo { emit(it) } } }

/** Every event matching [filter], a page at a time, each event once (deduplicated on id). */
fun PaypackClient.eventsFlow(filter: EventFilter = EventFilter()): Flow<Event> =
    flow { events(filter).use { pager -> pager.emitAllTo { emit(it) } } }

/**
 * Every transaction matching [filter], fetched a page at a time as the sequence is
 * iterated, blocking the iterating thread. Not for use inside coroutines: use
 * [transactionsFlow] there.
 */
fun PaypackClient.transactionsSequence(filter: TransactionFilter = TransactionFilter()): Sequence<Transaction> =
    sequence { transactions(filter).use { pager -> while (true) yield(pager.nextBlocking() ?: break) } }

/** Every event matching [filter], blocking the iterating thread; see [transactionsSequence]. */
fun PaypackClient.eventsSequence(filter: EventFilter = EventFilter()): Sequence<Event> =
    sequence { events(filter).use { pager -> while (true) yield(pager.nextBlocking() ?: break) } }

/** The rest of this pager as a Flow. A pager can be walked only once. */
fun PaypackTransactionPager.asFlow(): Flow<Transaction> = flow { emitAllTo { emit(it) } }

/** The rest of this pager as a Flow. A pager can be walked only once. */
fun PaypackEventPager.asFlow(): Flow<Event> = flow { emitAllTo { emit(it) } }

/** The rest of this pager as a blocking Sequence. A pager can be walked only once. */
fun PaypackTransactionPager.asSequence(): Sequence<Transaction> =
    sequence { while (true) yield(nextBlocking() ?: break) }

/** The rest of this pager as a blocking Sequence. A pager can be walked only once. */
fun PaypackEventPager.asSequence(): Sequence<Event> =
    sequence { while (true) yield(nextBlocking() ?: break) }

private suspend inline fun PaypackTransactionPager.emitAllTo(emit: (Transaction) -> Unit) {
    while (true) emit(next() ?: break)
}

private suspend inline fun PaypackEventPager.emitAllTo(emit: (Event) -> Unit) {
    while (true) emit(next() ?: break)
}
