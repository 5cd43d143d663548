// ParleySim
