import Foundation

/// One Event per object and reason per sweep, as kubelet's event correlator keeps one per repeat:
/// the first occurrence creates it, each later one counts it up (`series.count`) with a note that
/// covers every pod so far, instead of a new Event each time.
struct EventLedger {
    struct Key: Hashable {
        var subject: EventSubject
        var reason: String
    }

    private struct Entry {
        var event: SweepEvent
        var pods: [PodKey]
        var evidence: [Finding]
    }

    private var entries: [Key: Entry] = [:]

    /// The Event to send for one more occurrence of `notice`.
    mutating func occurrence(of notice: PlannedNotice, related: EventSubject?, at now: Date) -> SweepEvent {
        let key = Key(subject: notice.subject, reason: notice.reason)
        guard var entry = entries[key] else {
            let event = SweepEvent(
                regarding: notice.subject, related: related, reason: notice.reason, action: notice.action,
                note: EventNote.note(lead: notice.lead, pods: notice.pods, evidence: notice.evidence), type: notice.type, time: now, count: 1)
            entries[key] = Entry(event: event, pods: notice.pods, evidence: notice.evidence)
            return event
        }
        let known = Set(entry.pods)
        entry.pods += notice.pods.filter { !known.contains($0) }
        entry.evidence += notice.evidence
        entry.event.count += 1
        entry.event.note = EventNote.note(lead: notice.lead, pods: entry.pods, evidence: entry.evidence)
        entries[key] = entry
        return entry.event
    }
}
