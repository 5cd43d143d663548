// ParleyKitTesting
