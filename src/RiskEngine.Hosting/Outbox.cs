using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RiskEngine.Pipeline;
using RiskEngine.State;

namespace RiskEngine.Hosting;

/// <summary>
/// The host's outbox: numbers the output records a batch commits in its journal entry, and publishes them after the
/// commit to the configured sinks (<c>--output</c>, <c>--dead-letter</c>), marking them published in the journal. One
/// per process, shared by every pump of the host (the file worker and the HTTP request pump): whoever commits holds
/// <see cref="Gate"/> from <c>BeginBatchAsync</c> to the end of publishing, so sequence numbers, commits and
/// publishing keep one order. A channel without a sink (the server without <c>--output</c>) is marked published at
/// once: the journal keeps nothing waiting for a reader that does not exist.
/// </summary>
public sealed partial class Outbox(IEventJournal journal, IOptions<WorkerOptions> options, ILogger<Outbox> log, IOptions<OutboxOptions>? copies = null) : IAsyncDisposable
{
    private readonly bool _copyToWebhook = copies?.Value.CopyAccountEventsToWebhook ?? false;

    private readonly SemaphoreSlim _open = new(1, 1);
    private RecordSink? _output;
    private RecordSink? _dead;
    private long _sequence;
    private bool _isOpen;

    private long _unpublished;
    private Exception? _publishFailed; // once a publish failed, nothing after it may be published (it would mark the gap published)
    private long _waitingSince; // Stopwatch timestamp of the oldest committed record not yet published; 0 when none

    /// <summary>Held by whoever begins a batch that journals records, until they are published.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Records committed but not yet published (a failed publish leaves them here until the outbox next opens).</summary>
    public long Unpublished => Interlocked.Read(ref _unpublished);

    /// <summary>How long the oldest committed record has waited to be published; zero when none waits.</summary>
    public TimeSpan Lag => Interlocked.Read(ref _waitingSince) is var since and not 0 ? Stopwatch.GetElapsedTime(since) : TimeSpan.Zero;

    /// <summary>Opens the sinks (cutting a file back to what was published) and re-publishes what was committed but not published.</summary>
    /// <param name="newPass">A new <c>--once</c> pass over an input: the outputs are written anew.</param>
    public async Task OpenAsync(bool newPass, CancellationToken cancellationToken)
    {
        await _open.WaitAsync(cancellationToken);
        try
        {
            if (_isOpen) return;
            var o = options.Value;
            _output = await OpenSinkAsync(o.Output, OutputChannel.Output, newPass, cancellationToken);
            _dead = await OpenSinkAsync(o.DeadLetter, OutputChannel.DeadLetter, newPass, cancellationToken);
            _sequence = await journal.LastSequenceAsync(cancellationToken);
            _isOpen = true;
        }
        finally
        {
            _open.Release();
        }
    }

    /// <summary>Moves the lines written to <paramref name="buffer"/> into numbered journal records. Call it holding <see cref="Gate"/>.</summary>
    public void Split(ArrayBufferWriter<byte> buffer, OutputChannel channel, List<JournalRecord> records)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(records);
        if (!_isOpen) throw new InvalidOperationException("the outbox is not open");
        foreach (var line in RecordWriter.Lines(buffer.WrittenSpan))
        {
            records.Add(new JournalRecord(++_sequence, channel, line));
            // The webhook copy commits in the same journal entry as the record it copies: no commit without it.
            if (_copyToWebhook && channel == OutputChannel.Output && RecordWriter.IsAccountEvent(line))
                records.Add(new JournalRecord(++_sequence, OutputChannel.Webhook, line));
        }
        buffer.ResetWrittenCount();
    }

    /// <summary>
    /// Publishes committed records to their sinks and marks them published. Call it holding <see cref="Gate"/>, after
    /// the batch holding <paramref name="records"/> committed. What is published is what the journal holds unpublished
    /// for the channel, not only this batch's records: a batch that committed although its pump saw an error (and so
    /// did not publish it) goes out before this one, in sequence order, instead of being marked published unseen.
    /// </summary>
    public async ValueTask PublishAsync(IReadOnlyList<JournalRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (_publishFailed is { } failed)
            throw new InvalidOperationException("an earlier publish failed; committed records are published again when the outbox next opens (restart)", failed);
        foreach (var channel in new[] { OutputChannel.Output, OutputChannel.DeadLetter })
        {
            var last = 0L;
            foreach (var r in records)
            {
                if (r.Channel == channel) last = r.Sequence;
            }
            if (last == 0) continue;
            var sink = channel == OutputChannel.Output ? _output : _dead;
            try
            {
                var pending = await journal.UnpublishedAsync(channel, CancellationToken.None);
                // This batch's records must be among them: anything else means it did not commit (a bug in the caller).
                if (pending.Count == 0 || pending[^1].Sequence != last)
                    throw new InvalidOperationException($"record {last} of channel {channel} was handed to publishing but the journal does not hold it unpublished");
                // Committed: they wait for publishing from now on.
                Interlocked.CompareExchange(ref _waitingSince, Stopwatch.GetTimestamp(), 0);
                Interlocked.Add(ref _unpublished, pending.Count);
                if (sink is not null) await sink.WriteAsync(pending, CancellationToken.None);
                await journal.MarkPublishedAsync(channel, last, sink?.Length ?? 0, CancellationToken.None);
                if (Interlocked.Add(ref _unpublished, -pending.Count) == 0) Interlocked.Exchange(ref _waitingSince, 0);
            }
            catch (Exception e)
            {
                _publishFailed = e;
                throw;
            }
        }
        // Webhook records stay unpublished until every endpoint took them (or gave them up to its dead letters); tell the dispatcher there are new ones.
        if (WebhookRecordsCommitted is { } committed && records.Count(r => r.Channel == OutputChannel.Webhook) is > 0 and var webhook) committed(webhook);
    }

    /// <summary>Raised (holding <see cref="Gate"/>, so keep it short) with how many records for <see cref="OutputChannel.Webhook"/> a batch committed.</summary>
    public event Action<int>? WebhookRecordsCommitted;

    private async Task<RecordSink?> OpenSinkAsync(string? path, OutputChannel channel, bool newPass, CancellationToken ct)
    {
        var (sequence, length) = await journal.PublishedAsync(channel, ct);
        if (newPass)
        {
            length = 0;
            await journal.MarkPublishedAsync(channel, sequence, 0, ct);
        }
        // A redis-stream: output is the stream worker's own (it publishes with its Lua script); requests are not published there.
        var sink = string.IsNullOrEmpty(path) || path.StartsWith("redis-stream:", StringComparison.Ordinal) ? null : RecordSink.Open(path, channel, length, warning => LogSinkWarning(log, warning));
        var pending = await journal.UnpublishedAsync(channel, ct);
        if (pending.Count > 0)
        {
            if (sink is not null)
            {
                LogRepublish(log, pending.Count, sink.Name);
                await sink.WriteAsync(pending, ct);
            }
            await journal.MarkPublishedAsync(channel, pending[^1].Sequence, sink?.Length ?? 0, ct);
        }
        return sink;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_output is not null) await _output.DisposeAsync();
        if (_dead is not null) await _dead.DisposeAsync();
        _open.Dispose();
        Gate.Dispose();
    }

    [LoggerMessage(LogLevel.Warning, "{Warning}")]
    private static partial void LogSinkWarning(ILogger logger, string warning);

    [LoggerMessage(LogLevel.Information, "re-publishing {Count} committed records to {Sink}")]
    private static partial void LogRepublish(ILogger logger, int count, string sink);
}

/// <summary>What the outbox journals besides the output: set by the server when webhooks are configured.</summary>
public sealed class OutboxOptions
{
    /// <summary>Journal a copy of each account event on <see cref="OutputChannel.Webhook"/> with the batch that caused it.</summary>
    public bool CopyAccountEventsToWebhook { get; set; }
}
