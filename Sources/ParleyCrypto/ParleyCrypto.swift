// ParleyCrypto
