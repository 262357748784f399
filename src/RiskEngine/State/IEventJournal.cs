namespace RiskEngine.State;

/// <summary>
/// A worker's durable bookkeeping beside the state: how far the input was read, and the output records decided but
/// not yet published. A host writes them with the batch they belong to (<see cref="IStateBatch.CommitAsync"/> with a
/// <see cref="JournalEntry"/>): a batch's state changes, decisions, output records and input position commit in one
/// transaction, so after a crash the worker resumes exactly where the state is.
/// </summary>
public interface IEventJournal
{
    /// <summary>Where to resume reading <paramref name="source"/>, or null to start at its beginning.</summary>
    ValueTask<JournalPosition?> LoadPositionAsync(string source, CancellationToken cancellationToken = default);

    /// <summary>The highest record sequence number ever committed (0 when none).</summary>
    ValueTask<long> LastSequenceAsync(CancellationToken cancellationToken = default);

    /// <summary>How much of <paramref name="channel"/> was published: the last sequence and the sink's length after it.</summary>
    ValueTask<(long Sequence, long Length)> PublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default);

    /// <summary>Committed records of <paramref name="channel"/> after its published sequence, in order (all of them: for small channels).</summary>
    ValueTask<IReadOnlyList<JournalRecord>> UnpublishedAsync(OutputChannel channel, CancellationToken cancellationToken = default);

    /// <summary>
    /// A cursor read: up to <paramref name="limit"/> unpublished records of <paramref name="channel"/> with a sequence
    /// after <paramref name="afterSequence"/>, in order. Costs what it returns, not the backlog: readers of a channel
    /// that may hold many records (<see cref="OutputChannel.Webhook"/>) page through it with this.
    /// </summary>
    ValueTask<IReadOnlyList<JournalRecord>> ReadAsync(OutputChannel channel, long afterSequence, int limit, CancellationToken cancellationToken = default);

    /// <summary>How many unpublished records of <paramref name="channel"/> have a sequence after <paramref name="afterSequence"/>.</summary>
    ValueTask<long> CountAsync(OutputChannel channel, long afterSequence, CancellationToken cancellationToken = default);

    /// <summary>Records that <paramref name="channel"/> holds everything through <paramref name="sequence"/>, at <paramref name="length"/> bytes.</summary>
    ValueTask MarkPublishedAsync(OutputChannel channel, long sequence, long length, CancellationToken cancellationToken = default);
}

/// <summary>What a host journals with a batch: its output records (numbered) and how far it read its input.</summary>
public sealed record JournalEntry(IReadOnlyList<JournalRecord> Records, JournalPosition Position);

/// <summary>Where a worker's output records go.</summary>
public enum OutputChannel
{
    /// <summary>Decisions, rejections and account events.</summary>
    Output = 0,

    /// <summary>Rejected input lines with the reason.</summary>
    DeadLetter = 1,

    /// <summary>
    /// A copy of each account event (<c>account.frozen</c>, <c>account.unfrozen</c>, <c>account.factor_*</c>) for webhook delivery, journaled
    /// with the batch that caused it. Not published by the outbox: the webhook dispatcher keeps each endpoint's
    /// progress as a journal position and marks the channel published up to what every endpoint has.
    /// </summary>
    Webhook = 2,
}

/// <summary>One output line (without its line break) with its sequence number.</summary>
public sealed record JournalRecord(long Sequence, OutputChannel Channel, byte[] Bytes);

/// <summary>How far an input was read: the byte offset after the last committed line, and that line's number.</summary>
/// <param name="Source">The input's name (full path, or <c>stdin</c>).</param>
/// <param name="Offset">Byte offset after the last committed line.</param>
/// <param name="Line">Number of that line.</param>
/// <param name="Completed">A <c>--once</c> run read the input to its end; the next such run starts a new pass.</param>
public sealed record JournalPosition(string Source, long Offset, long Line, bool Completed = false);
