// ParleyNode
