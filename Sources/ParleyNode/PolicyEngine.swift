import Foundation
import ParleyCore

/// Applies one tenant's ``Policy``: nothing here needs another operator's cooperation.
struct PolicyEngine: Sendable {
    let policy: Policy
    let limiter: RateLimiter

    init(policy: Policy) {
        self.policy = policy
        self.limiter = RateLimiter(rate: policy.ratePerPeer, burst: policy.rateBurst)
    }

    func checkPeer(_ domain: String, localDomain: String) throws(Refusal) {
        if policy.deniedPeers.contains(domain) { throw .peerDenied(domain) }
        if let allowed = policy.allowedPeers, !allowed.contains(domain), domain != localDomain { throw .peerDenied(domain) }
    }

    func checkKind(_ kind: BridgeEvent.Kind) throws(Refusal) {
        guard policy.acceptedKinds.contains(kind) else { throw .kindRefused(kind.rawValue) }
    }

    func checkSize(textBytes: Int, attachments: Int) throws(Refusal) {
        if textBytes > policy.maxTextBytes { throw .tooLarge(textBytes, limit: policy.maxTextBytes) }
        if attachments > policy.maxAttachments {
            throw Refusal("policy.too_many_attachments", "\(attachments) attachments is over the limit of \(policy.maxAttachments)")
        }
    }

    func checkRate(peer: String, now: Double = Date().timeIntervalSince1970) throws(Refusal) {
        guard limiter.take(peer, now: now) else { throw .rateLimited(peer) }
    }
}
